import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * The default logger: structured JSON on stderr (stdout belongs to the CLI's output), at
 * SLUICE_LOG_LEVEL or `warn`. Components bind `jobId`, `stage` and `worker` as child fields.
 */
export function defaultLogger(env: NodeJS.ProcessEnv = process.env): Logger {
  return pino(
    { level: env.SLUICE_LOG_LEVEL ?? 'warn', base: { pid: process.pid } },
    pino.destination(2),
  );
}
