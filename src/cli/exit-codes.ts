import { isSluiceError } from '../domain/errors.js';

/**
 * The process exit codes of `sluice`, in one place so scripts can rely on them. A code, once
 * published, keeps its meaning; 0, 1 and 2 predate 3, 0 to 3 predate 4, 0 to 4 predate 5, 0 to
 * 5 predate 6, and none changed when the later ones were added.
 */
export const EXIT_CODES = {
  /** The command did what it was asked. */
  OK: 0,
  /**
   * The operation failed or was rejected: the coordinator refused a command, no coordinator
   * answered, a server could not be reached, refused the credentials or the TLS handshake
   * (`SLUICE_TLS_FAILED`), `infra status` found
   * nothing running.
   */
  FAILURE: 1,
  /** A usage mistake: an unknown flag or command, a missing argument, a bad value, a missing module. */
  USAGE: 2,
  /** No job has the given id or name in the namespace. */
  UNKNOWN_JOB: 3,
  /**
   * A resume refused because records past the job's committed offsets were deleted while it
   * was stopped (`SLUICE_SOURCE_DATA_LOST`): a script may decide to resume with
   * `--accept-data-loss`, which it should not do after any other failure.
   */
  DATA_LOST: 4,
  /**
   * A resume refused because every live worker hosting the job's pipeline still runs the code
   * the job failed in (`SLUICE_RESUME_SAME_CODE`): a deployment script may wait for the fixed
   * workers and try again, or decide to `--force`.
   */
  SAME_CODE: 5,
  /**
   * `sluice resume --dry-run` ran and the failing record still fails in the code of at least
   * one live worker hosting the pipeline: the fix does not work (yet) everywhere. Nothing was
   * resumed; a deployment script should not resume now.
   */
  DRY_RUN_FAILS: 6,
} as const;

/** One of {@link EXIT_CODES}. */
export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/** The exit code for an error a command threw, decided by its stable code only. */
export function exitCodeFor(err: unknown): ExitCode {
  // A console bound off loopback without credentials is a mistake in the flags, like SLUICE_USAGE.
  if (isSluiceError(err, 'SLUICE_USAGE') || isSluiceError(err, 'SLUICE_CONSOLE_UNPROTECTED'))
    return EXIT_CODES.USAGE;
  if (isSluiceError(err, 'SLUICE_JOB_NOT_FOUND')) return EXIT_CODES.UNKNOWN_JOB;
  if (isSluiceError(err, 'SLUICE_SOURCE_DATA_LOST')) return EXIT_CODES.DATA_LOST;
  if (isSluiceError(err, 'SLUICE_RESUME_SAME_CODE')) return EXIT_CODES.SAME_CODE;
  return EXIT_CODES.FAILURE;
}

/** The exit-code table as `sluice --help` prints it. */
export const EXIT_CODES_HELP = `Exit codes:
  0  success
  1  the operation failed or was rejected (e.g. SLUICE_COMMAND_REJECTED, SLUICE_COMMAND_TIMEOUT)
  2  usage error: unknown flag or command, missing argument, bad value (SLUICE_USAGE)
  3  unknown job: no job has that id or name (SLUICE_JOB_NOT_FOUND)
  4  resume refused: records past the job's committed offsets were deleted (SLUICE_SOURCE_DATA_LOST)
  5  resume refused: every live worker hosting the pipeline runs the code that failed (SLUICE_RESUME_SAME_CODE)
  6  resume --dry-run: the failing record still fails in a live worker's code (nothing was resumed)`;
