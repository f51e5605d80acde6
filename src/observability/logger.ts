import { pino, type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { REDACT_PATHS, REDACTED } from './redact.js';

export type { Logger } from 'pino';

/**
 * The default logger on stderr (stdout belongs to the CLI's output), at SLUICE_LOG_LEVEL or
 * `warn`: structured JSON, or readable lines when stderr is a terminal (SLUICE_LOG_FORMAT=json or
 * pretty overrides). Components bind `jobId`, `stage` and `worker` as child fields. Passwords are
 * redacted wherever a logged object carries one (see {@link REDACT_PATHS}).
 */
export function defaultLogger(
  env: NodeJS.ProcessEnv = process.env,
  destination: DestinationStream = defaultDestination(env),
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

/** JSON for machines, unless a person is reading the terminal. */
function defaultDestination(env: NodeJS.ProcessEnv): DestinationStream {
  const format = env.SLUICE_LOG_FORMAT ?? (process.stderr.isTTY ? 'pretty' : 'json');
  if (format !== 'pretty') return pino.destination(2);
  return pretty({ destination: 2, colorize: true, ignore: 'pid,hostname', sync: true });
}
