import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { SluiceError } from '../../domain/errors.js';
import { startConsole } from '../../console/server.js';
import {
  compileConsoleOptions,
  DEFAULT_CONSOLE_HOST,
  DEFAULT_CONSOLE_PORT,
  type CompiledConsoleOptions,
} from '../../console/options.js';
import { defaultLogger } from '../../observability/logger.js';
import { issuedByOf, withClient } from '../connect.js';
import { documented } from '../help.js';
import { parsePort, type GlobalOptions } from '../options.js';
import { jsonLine, progress } from '../output.js';
import { collect, integer } from '../parse.js';
import { untilStopSignal } from '../signals.js';

/** The flags of `sluice console`. */
export interface ConsoleFlags {
  port: string;
  host: string;
  tokenFile?: string;
  user?: string;
  passwordFile?: string;
  metrics: string[];
  metricsInterval?: string;
}

/**
 * The console's options from its flags and environment, checked before anything connects.
 * Secrets come from files or the environment, never from the command line, where `ps` and the
 * shell history would show them.
 */
export function consoleOptionsOf(
  o: Omit<ConsoleFlags, 'metrics' | 'metricsInterval'>,
  env: NodeJS.ProcessEnv,
): CompiledConsoleOptions {
  const token =
    o.tokenFile !== undefined
      ? firstLine(o.tokenFile, '--token-file')
      : nonEmpty(env.SLUICE_CONSOLE_TOKEN);
  const user = o.user ?? nonEmpty(env.SLUICE_CONSOLE_USER);
  const password =
    o.passwordFile !== undefined
      ? firstLine(o.passwordFile, '--password-file')
      : nonEmpty(env.SLUICE_CONSOLE_PASSWORD);
  if ((user === undefined) !== (password === undefined))
    throw new SluiceError(
      'SLUICE_USAGE',
      'Basic auth needs both a user (--user or SLUICE_CONSOLE_USER) and a password (--password-file or SLUICE_CONSOLE_PASSWORD).',
    );
  return compileConsoleOptions({
    host: o.host,
    port: parsePort(o.port, '--port'),
    token,
    basic: user !== undefined && password !== undefined ? { username: user, password } : undefined,
  });
}

/**
 * Who the console's actions are recorded as in the job log: `--issued-by` or SLUICE_ISSUED_BY
 * when given, else `console:` and the basic-auth user, else the OS user at this host.
 */
export function consoleIssuedBy(
  g: GlobalOptions,
  o: CompiledConsoleOptions,
  env: NodeJS.ProcessEnv,
): string {
  const given = issuedByOf(g, env);
  if (given !== undefined) return given;
  if (o.basic) return `console:${o.basic.username}`;
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (a container's arbitrary uid): still a console, just not named.
  }
  return `console:${user}@${hostname()}`;
}

/** `sluice console`: the operator console, a web page over the job log, until Ctrl-C. */
export function registerConsole(program: Command, globals: () => GlobalOptions): void {
  const cmd = program
    .command('console')
    .description('serve the operator console: watch jobs live, see why one is suspended, act on it')
    .option('--port <port>', 'port to listen on; 0 picks a free one', String(DEFAULT_CONSOLE_PORT))
    .option(
      '--host <address>',
      'address to listen on; anything but loopback needs credentials',
      DEFAULT_CONSOLE_HOST,
    )
    .option(
      '--token-file <file>',
      'file holding the token every request must carry (env SLUICE_CONSOLE_TOKEN)',
    )
    .option('--user <name>', 'basic-auth user (env SLUICE_CONSOLE_USER)')
    .option(
      '--metrics <url>',
      "a worker's Prometheus endpoint to read records in, out and lag from (repeatable)",
      collect,
      [],
    )
    .option('--metrics-interval <ms>', 'time between reads of the metrics endpoints (default 5000)')
    .option(
      '--password-file <file>',
      'file holding the basic-auth password (env SLUICE_CONSOLE_PASSWORD)',
    );
  documented(
    cmd,
    'one line once serving: { "url": string, "port": number, "namespace": string, "issuedBy": string }',
    [
      ['sluice console', 'serve on http://127.0.0.1:8080/ for this machine only'],
      ['sluice console --port 0 --json', 'pick a free port and print where'],
      [
        'SLUICE_CONSOLE_TOKEN=$(openssl rand -hex 16) sluice console --host 0.0.0.0',
        'serve to other machines; open the printed address with ?token=<the token> once',
      ],
    ],
  ).action(async (o: ConsoleFlags & { json?: boolean }) => {
    const g = globals();
    const options = consoleOptionsOf(o, process.env);
    const issuedBy = consoleIssuedBy(g, options, process.env);
    const metrics = o.metrics.map((url) => metricsUrl(url));
    const metricsIntervalMs =
      o.metricsInterval === undefined
        ? undefined
        : integer('--metrics-interval', o.metricsInterval);
    const stopSignal = untilStopSignal();
    await withClient({ ...g, issuedBy }, async (client) => {
      const running = await startConsole(
        {
          client,
          logger: defaultLogger(),
          ...(metrics.length > 0 && { metricsTargets: () => metrics, metricsIntervalMs }),
        },
        options,
      );
      if (o.json)
        jsonLine({ url: running.url, port: running.port, namespace: client.namespace, issuedBy });
      else
        progress(
          `Console for namespace "${client.namespace}" at ${running.url}${options.token !== undefined ? ' (open it once with ?token=<your token>)' : ''}, acting as ${issuedBy}; Ctrl-C to stop.`,
        );
      await stopSignal;
      await running.close();
    });
  });
}

function firstLine(path: string, flag: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SluiceError(
      'SLUICE_USAGE',
      `${flag} ${path} cannot be read: ${(err as Error).message}.`,
      { cause: err },
    );
  }
  const line = text.split(/\r?\n/)[0]?.trim() ?? '';
  if (line === '')
    throw new SluiceError(
      'SLUICE_USAGE',
      `${flag} ${path} is empty; its first line is the secret.`,
    );
  return line;
}

/** A metrics endpoint as given: http(s) only, so a typo fails at start rather than every scrape. */
function metricsUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    url = new URL('x:');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new SluiceError(
      'SLUICE_USAGE',
      `--metrics takes a worker's metrics URL such as http://host:9464/metrics, not "${text}".`,
    );
  return url.href;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}
