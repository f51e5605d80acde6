import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './logger.js';

/** Whether the process can do its work yet, and if not, why not. */
export type Readiness = { ready: true } | { ready: false; reason: string };

/** What the health and metrics server serves. */
export interface ObservabilityServerOptions {
  /** 0 picks a free port; the bound one is {@link ObservabilityServer.port}. */
  port: number;
  /** Default: every interface, so Prometheus on another host can scrape. */
  host?: string;
  scrape: () => Promise<{ contentType: string; body: string }>;
  readiness: () => Readiness;
  logger: Logger;
}

/** A running health and metrics server. */
export interface ObservabilityServer {
  /** The bound port (the picked one when asked for port 0). */
  readonly port: number;
  close(): Promise<void>;
}

/** Liveness paths: Kubernetes' current and older spellings. */
const LIVE = new Set(['/livez', '/health/live']);
const READY = new Set(['/readyz', '/health/ready']);

/**
 * Serves `/metrics` (Prometheus text), `/livez` and `/readyz`. Liveness only says the event loop
 * answers: a worker that is merely not ready yet must not be restarted for it. Readiness says
 * why not, in JSON, with status 503.
 */
export async function startObservabilityServer(
  opts: ObservabilityServerOptions,
): Promise<ObservabilityServer> {
  const log = opts.logger.child({ component: 'observability-http' });
  const server = createServer((req, res) => {
    handle(opts, req, res).catch((err: unknown) => {
      log.warn({ err, url: req.url }, 'could not answer a metrics or health request');
      if (!res.headersSent) json(res, 500, { status: 'error', reason: errorText(err) });
      else res.end();
    });
  });
  await listen(server, opts.port, opts.host);
  const port = (server.address() as AddressInfo).port;
  log.info({ port }, 'serving /metrics, /livez and /readyz');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        // Keep-alive connections from a scraper would hold close() open until they time out.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function handle(
  opts: ObservabilityServerOptions,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return json(res, 405, { status: 'error', reason: `method ${req.method} is not allowed` });
  }
  if (path === '/metrics') {
    const { contentType, body } = await opts.scrape();
    res.writeHead(200, { 'content-type': contentType });
    res.end(req.method === 'HEAD' ? undefined : body);
    return;
  }
  if (LIVE.has(path)) return json(res, 200, { status: 'live' });
  if (READY.has(path)) {
    const r = opts.readiness();
    return r.ready
      ? json(res, 200, { status: 'ready' })
      : json(res, 503, { status: 'not ready', reason: r.reason });
  }
  json(res, 404, {
    status: 'error',
    reason: `no such path ${path}; try /metrics, /livez or /readyz`,
  });
}

function json(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

function listen(server: Server, port: number, host: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
