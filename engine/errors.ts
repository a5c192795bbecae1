/** Errors that carry the exit code the CLI should end with. */

/** Bad input from the user (a missing workspace, a malformed argument): exit 2. */
export class InputError extends Error {
  readonly exitCode: number = 2;
}
