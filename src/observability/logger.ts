import { pino, type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { redactLogLine } from './redact.js';

export type { Logger } from 'pino';

/**
 * The default logger on stderr (stdout belongs to the CLI's output), at SLUICE_LOG_LEVEL or
 * `warn`: structured JSON, or readable lines when stderr is a terminal (SLUICE_LOG_FORMAT=json or
 * pretty overrides). Components bind `jobId`, `stage` and `worker` as child fields. Every line
 * is redacted on its way out (see redact.ts): secrets by key at any depth, URL passwords and
 * private keys in any string, the message and bound fields included.
 */
export function defaultLogger(
  env: NodeJS.ProcessEnv = process.env,
  destination: DestinationStream = defaultDestination(env),
): Logger {
  return pino(
    { level: env.SLUICE_LOG_LEVEL ?? 'warn', base: { pid: process.pid } },
    redacting(destination),
  );
}

/**
 * Redacts each finished line rather than using pino's `redact` paths: those name fixed depths
 * (`*.*.password`), miss secrets inside strings (a URL with a password in a message or an error's
 * stack), and do not see fields bound to child loggers the same way.
 */
export function redacting(destination: DestinationStream): DestinationStream {
  const d = destination as DestinationStream & {
    flush?: (cb?: (err?: Error) => void) => void;
    flushSync?: () => void;
  };
  return Object.assign(
    { write: (line: string): void => void d.write(redactLogLine(line)) },
    d.flush && { flush: d.flush.bind(d) },
    d.flushSync && { flushSync: d.flushSync.bind(d) },
  );
}

/** JSON for machines, unless a person is reading the terminal. */
function defaultDestination(env: NodeJS.ProcessEnv): DestinationStream {
  const format = env.SLUICE_LOG_FORMAT ?? (process.stderr.isTTY ? 'pretty' : 'json');
  if (format !== 'pretty') return pino.destination(2);
  return pretty({ destination: 2, colorize: true, ignore: 'pid,hostname', sync: true });
}
