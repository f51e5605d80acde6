import { pino, type DestinationStream, type Logger } from 'pino';
import { REDACT_PATHS, REDACTED } from './redact.js';

export type { Logger } from 'pino';

/**
 * The default logger: structured JSON on stderr (stdout belongs to the CLI's output), at
 * SLUICE_LOG_LEVEL or `warn`. Components bind `jobId`, `stage` and `worker` as child fields.
 * Passwords are redacted wherever a logged object carries one (see {@link REDACT_PATHS}).
 */
export function defaultLogger(
  env: NodeJS.ProcessEnv = process.env,
  destination: DestinationStream = pino.destination(2),
): Logger {
  return pino(
    {
      level: env.SLUICE_LOG_LEVEL ?? 'warn',
      base: { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: REDACTED },
    },
    destination,
  );
}
