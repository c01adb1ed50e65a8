/**
 * @module cli/io
 * The streams and environment a command works with, passed in so tests run commands
 * in-process and read what they print.
 */
export interface CommandIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}
