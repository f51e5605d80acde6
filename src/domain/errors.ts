/**
 * Typed errors with stable codes. Callers branch on `code`, never on message text.
 *
 * Every message says what was wrong, what was expected, and what to do next.
 */

/** The closed list of error codes. A code, once published, keeps its meaning. */
export const ERROR_CODES = [
  // Infrastructure: finding or starting Kafka and the schema registry.
  'SLUICE_INFRA_BAD_ENDPOINT',
  'SLUICE_INFRA_NOT_FOUND',
  'SLUICE_INFRA_UNREACHABLE',
  'SLUICE_INFRA_FETCH_FAILED',
  'SLUICE_INFRA_START_FAILED',
  'SLUICE_INFRA_NOT_RUNNING',
  // Security: a broker or registry refused the credentials.
  'SLUICE_AUTH_FAILED',
  // Kafka's authorizer refused an operation: no ACL allows it (see NotAuthorizedError).
  'SLUICE_NOT_AUTHORIZED',
  // A TLS handshake failed: a certificate not trusted, not naming the host, or a client one refused.
  'SLUICE_TLS_FAILED',
  // Schemas and the registry.
  'SLUICE_SCHEMA_INCOMPATIBLE',
  'SLUICE_REGISTRY_UNAVAILABLE',
  'SLUICE_ENCODE_FAILED',
  'SLUICE_DECODE_FAILED',
  // Topics.
  'SLUICE_TOPIC_MISCONFIGURED',
  // A resume names a dead-letter topic that does not exist.
  'SLUICE_DEAD_LETTER_TOPIC_MISSING',
  // Jobs and commands.
  'SLUICE_JOB_NOT_FOUND',
  'SLUICE_COMMAND_REJECTED',
  'SLUICE_COMMAND_TIMEOUT',
  'SLUICE_JOB_NOT_SUSPENDED',
  'SLUICE_JOB_SUSPENDED',
  'SLUICE_JOB_FAILED',
  'SLUICE_JOB_CANCELLED',
  'SLUICE_STATE_INCOMPATIBLE',
  'SLUICE_STATE_UNREADABLE',
  // Records past a job's committed offsets were deleted before it read them.
  'SLUICE_SOURCE_DATA_LOST',
  // A resume would retry the failing record in the very code that failed on it.
  'SLUICE_RESUME_SAME_CODE',
  // A dry run of a resume asked of a job that has no failing record, or that no live worker hosts.
  'SLUICE_DRY_RUN_NOT_POSSIBLE',
  'SLUICE_NO_LIVE_WORKER',
  // Exported snapshots: a copy that could not be made whole, a snapshot that is gone or altered.
  'SLUICE_SNAPSHOT_COPY_FAILED',
  'SLUICE_SNAPSHOT_UNAVAILABLE',
  // The operator console would listen where other machines reach it, without credentials.
  'SLUICE_CONSOLE_UNPROTECTED',
  // A windowed stage met a value without a usable event time (not a finite number).
  'SLUICE_EVENT_TIME_INVALID',
  // Configuration and user input.
  'SLUICE_HISTORY_UNAVAILABLE',
  'SLUICE_CONFIG_INVALID',
  'SLUICE_USAGE',
] as const;

/** A stable error code, see {@link ERROR_CODES}. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Options shared by every {@link SluiceError}. */
export interface SluiceErrorOptions {
  cause?: unknown;
  /** True when the same operation may succeed if tried again later (a broker restarting, say). */
  retryable?: boolean;
  /** Extra machine-readable facts, printed by the CLI's `--json` error output. */
  details?: Record<string, unknown>;
}

/** The base of every error Sluice throws on purpose. */
export class SluiceError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: SluiceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SluiceError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details ?? {};
  }

  /** A plain object for `--json` output and structured logs. */
  toJSON(): {
    code: ErrorCode;
    message: string;
    retryable: boolean;
    details: Record<string, unknown>;
  } {
    return {
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      details: this.details,
    };
  }
}

/** True when `err` is a {@link SluiceError}, optionally with the given code. */
export function isSluiceError(err: unknown, code?: ErrorCode): err is SluiceError {
  return err instanceof SluiceError && (code === undefined || err.code === code);
}

/**
 * Kafka refused an operation on a resource because no ACL allows it to this principal. Never
 * retried: an ACL does not appear by waiting. `operation` and `resource` name the binding that
 * is missing, as `sluice acl print` would print it.
 */
export class NotAuthorizedError extends SluiceError {
  constructor(
    readonly operation: string,
    readonly resourceType: 'TOPIC' | 'GROUP' | 'TRANSACTIONAL_ID' | 'CLUSTER',
    readonly resource: string,
    options: { cause?: unknown; principal?: string | undefined } = {},
  ) {
    const who = options.principal ?? 'this principal';
    super(
      'SLUICE_NOT_AUTHORIZED',
      `Kafka refused ${operation} on ${resourceType} ${resource} to ${who}: no ACL allows it. Run this as a principal of the role that may (docs/security.md, "Roles"), or grant the role's bindings with \`sluice acl apply --role <role> --principal <principal>\`.`,
      {
        cause: options.cause,
        details: { operation, resourceType, resource, principal: options.principal ?? null },
      },
    );
    this.name = 'NotAuthorizedError';
  }
}
