/**
 * @module factors/fallback
 * Temporary access passes and recovery codes: values, hashes, and issuing a pass.
 */
export * from './codes.ts';
export * from './access-pass.ts';
