// Types of node-version.js (plain JavaScript, so that an old Node can run it), for the tests.

/** True when `version` (as in process.versions.node) is older than 22.19. */
export function nodeTooOld(version: string): boolean;
/** Stops the process with the message when this Node is too old. */
export function requireNode(): void;
