import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SluiceClient } from '../client/client.js';
import { apply } from '../domain/apply.js';
import { SluiceError } from '../domain/errors.js';
import { hostsOf } from '../domain/presence.js';
import type { Logger } from '../observability/logger.js';
import { apiError, runAction } from './actions.js';
import type { ConsoleInfo, JobMetrics } from './api-types.js';
import { DEFAULT_METRICS_INTERVAL_MS, MetricsScraper } from './metrics.js';
import { checkAssets, readAsset } from './assets.js';
import { authorize, hostAllowed, queryToken, TOKEN_COOKIE } from './auth.js';
import {
  compileConsoleOptions,
  type CompiledConsoleOptions,
  type ConsoleOptions,
} from './options.js';
import { JobStream } from './stream.js';
import { detailOf, rowOf, sortRows, timelineOf } from './views.js';

/** What the console serves from, besides its options. */
export interface ConsoleParts {
  client: SluiceClient;
  logger: Logger;
  /** The workers' `/metrics` URLs to scrape for records in, out and lag; none by default. */
  metricsTargets?: () => readonly string[];
  /** Time between scrapes; default {@link DEFAULT_METRICS_INTERVAL_MS}. */
  metricsIntervalMs?: number;
}

/** A running console. */
export interface RunningConsole {
  /** The address to open, e.g. http://127.0.0.1:8080/. */
  readonly url: string;
  readonly port: number;
  readonly stream: JobStream;
  close(): Promise<void>;
}

/** Requests that change something must say they come from the page (a header no form can set). */
const CSRF_HEADER = 'x-sluice-console';

/** Requests bodies are small JSON objects. */
const MAX_BODY = 64 * 1024;

/**
 * Starts the operator console: the page, the JSON API it calls, and the live event stream,
 * over the given client (whose `issuedBy` the job log records for every action).
 */
export async function startConsole(
  parts: ConsoleParts,
  options: ConsoleOptions,
): Promise<RunningConsole> {
  const o = compileConsoleOptions(options);
  await checkAssets();
  const log = parts.logger.child({ component: 'console' });
  const scraper = parts.metricsTargets
    ? new MetricsScraper({
        targets: parts.metricsTargets,
        intervalMs: parts.metricsIntervalMs ?? DEFAULT_METRICS_INTERVAL_MS,
        logger: log,
      })
    : undefined;
  const metrics: Metrics = {
    latest: (id) => scraper?.latest(id) ?? null,
    history: (id) => scraper?.history(id) ?? [],
  };
  const stream = new JobStream(parts.client, metrics.latest);
  scraper?.onScrape((ids) =>
    stream.send({
      type: 'metrics',
      rows: ids.map((jobId) => ({ jobId, metrics: metrics.latest(jobId) })),
    }),
  );
  scraper?.start();
  const server = createServer((req, res) => {
    handle(parts.client, metrics, o, stream, req, res).catch((err: unknown) => {
      log.warn({ err, url: req.url }, 'console request failed');
      const { status, body } = apiError(err);
      if (!res.headersSent) json(res, status, body);
      else res.end();
    });
  });
  await listen(server, o.port, o.host);
  const port = (server.address() as AddressInfo).port;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  const url = `http://${host}:${port}/`;
  log.info({ url }, 'console serving');
  return {
    url,
    port,
    stream,
    close: () =>
      new Promise<void>((resolve) => {
        scraper?.stop();
        stream.close();
        // Event streams never end by themselves.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A job's metrics, latest and over time: none without targets to scrape. */
interface Metrics {
  latest(jobId: string): JobMetrics | null;
  history(jobId: string): JobMetrics[];
}

async function handle(
  client: SluiceClient,
  metrics: Metrics,
  o: CompiledConsoleOptions,
  stream: JobStream,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  securityHeaders(res);
  if (!hostAllowed(req, o))
    return json(res, 421, {
      error: {
        code: 'SLUICE_CONSOLE_UNAUTHORIZED',
        message: `This console answers to ${o.host} and localhost only, not to the host "${req.headers.host ?? ''}".`,
      },
    });
  const verdict = authorize(req, o);
  if (!verdict.ok) {
    if (verdict.challenge) res.setHeader('www-authenticate', verdict.challenge);
    return json(res, 401, {
      error: {
        code: 'SLUICE_CONSOLE_UNAUTHORIZED',
        message: 'This console needs credentials: open the link with its token, or log in.',
      },
    });
  }
  const url = new URL(req.url ?? '/', 'http://console');
  const path = url.pathname;
  // The token link: keep the token in a cookie the page's own requests carry, and drop it
  // from the address bar (and so from the history and screenshots).
  if (o.token !== undefined && queryToken(req) !== undefined) {
    res.setHeader(
      'set-cookie',
      `${TOKEN_COOKIE}=${encodeURIComponent(o.token)}; HttpOnly; SameSite=Strict; Path=/`,
    );
    res.writeHead(303, { location: path });
    return void res.end();
  }
  if (req.method === 'POST') {
    const m = /^\/api\/jobs\/([^/]+)\/actions$/.exec(path);
    if (!m?.[1]) return json(res, 404, notFound(path));
    if (req.headers[CSRF_HEADER] !== '1')
      return json(res, 403, {
        error: {
          code: 'SLUICE_USAGE',
          message: `Actions need the ${CSRF_HEADER} header the page sends.`,
        },
      });
    const job = await runAction(client, decodeURIComponent(m[1]), await readJson(req));
    return json(res, 200, { row: rowOf(job.snapshot(), metrics.latest(job.id)) });
  }
  if (req.method !== 'GET') return json(res, 405, notFound(path));
  if (path === '/api/events') return stream.attach(res);
  if (path === '/api/info') {
    const info: ConsoleInfo = { namespace: client.namespace, issuedBy: client.issuedBy };
    return json(res, 200, info);
  }
  if (path === '/api/jobs')
    return json(
      res,
      200,
      sortRows(client.listJobs().map((j) => rowOf(j.snapshot(), metrics.latest(j.id)))),
    );
  const m = /^\/api\/jobs\/([^/]+)$/.exec(path);
  if (m?.[1]) {
    const job = client.getJob(decodeURIComponent(m[1]));
    const state = job.snapshot();
    const timeline = timelineOf(job.history(), apply);
    const hosts = hostsOf(await client.liveWorkers(), state.pipeline);
    return json(
      res,
      200,
      detailOf(
        state,
        timeline,
        client.snapshots(),
        hosts,
        metrics.latest(job.id),
        metrics.history(job.id),
      ),
    );
  }
  if (path.startsWith('/api/')) return json(res, 404, notFound(path));
  // Anything else is the page (its own router reads the hash) or one of its files.
  const asset = await readAsset(path === '/' ? 'index.html' : path.slice(1));
  if (!asset) return json(res, 404, notFound(path));
  res.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-cache' });
  res.end(asset.body);
}

function securityHeaders(res: ServerResponse): void {
  // The page loads only its own files, and no other site may frame it.
  res.setHeader(
    'content-security-policy',
    "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  );
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('referrer-policy', 'no-referrer');
}

function notFound(path: string): { error: { code: string; message: string } } {
  return { error: { code: 'SLUICE_CONSOLE_NOT_FOUND', message: `Nothing is at ${path}.` } };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  });
  res.end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY)
      throw new SluiceError('SLUICE_USAGE', `An action's body is at most ${MAX_BODY} bytes.`);
    chunks.push(chunk);
  }
  if (chunks.length === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new SluiceError(
      'SLUICE_USAGE',
      'An action is a JSON object, such as {"action":"resume"}.',
    );
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
