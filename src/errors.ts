// Every error code lockwarden raises, in one place, with the exit code a CLI run ends with.
// User-facing errors carry a message that says what was wrong and where; anything else is a bug.

export const ERROR_CODES = {
  /** A command-line flag or argument is wrong. */
  EUSAGE: 2,
  /** The policy file is missing, unreadable or invalid. */
  EPOLICY: 2,
  /** The lockfile is missing, unreadable or malformed. */
  ELOCKFILE: 2,
  /** A configuration value (URL, env variable, npm config) is invalid. */
  ECONFIG: 2,
  /** A package name or spec is not a valid npm name. */
  EINVALIDNAME: 2,
  /** Facts could not be fetched and the policy blocks on unavailable facts. */
  EUNAVAILABLE: 3,
  /** Action inputs are wrong. */
  EINPUT: 2,
  /** The policy allows no version a dependency range needs (`update`). */
  EBLOCKED: 1,
  /** pnpm, yarn or bun (run by `update`) is missing, the wrong one, or failed on the project. */
  EPACKAGEMANAGER: 2,
  /** The lockwarden service answered with an error. */
  ESERVICE: 3,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class LockwardenError extends Error {
  readonly code: ErrorCode;
  /** Extra structured detail (file, key path, per-problem list). */
  readonly details?: unknown;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LockwardenError';
    this.code = code;
    this.details = options?.details;
  }

  get exitCode(): number {
    return ERROR_CODES[this.code];
  }
}

export function isLockwardenError(err: unknown): err is LockwardenError {
  return err instanceof LockwardenError;
}
