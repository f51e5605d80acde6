import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import {
  startObservabilityServer,
  type ObservabilityServer,
  type Readiness,
} from '../../src/observability/http.js';

const logger = pino({ level: 'silent' });
let server: ObservabilityServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(readiness: () => Readiness, body = 'x_total 1\n'): Promise<string> {
  server = await startObservabilityServer({
    port: 0,
    host: '127.0.0.1',
    scrape: () => Promise.resolve({ contentType: 'text/plain; version=0.0.4', body }),
    readiness,
    logger,
  });
  return `http://127.0.0.1:${server.port}`;
}

describe('observability server', () => {
  it('binds a free port when asked for 0 and serves the scrape as is', async () => {
    const url = await start(() => ({ ready: true }), 'sluice_up 1\n');
    expect(server?.port).toBeGreaterThan(0);
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4');
    expect(await res.text()).toBe('sluice_up 1\n');
  });

  it('is live even while not ready, and says why it is not ready with a 503', async () => {
    let state: Readiness = { ready: false, reason: 'reading the job log' };
    const url = await start(() => state);
    for (const path of ['/livez', '/health/live']) {
      const live = await fetch(`${url}${path}`);
      expect(live.status).toBe(200);
      expect(await live.json()).toEqual({ status: 'live' });
    }
    const notReady = await fetch(`${url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ status: 'not ready', reason: 'reading the job log' });
    state = { ready: true };
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });

  it('answers 404 for unknown paths and 405 for other methods', async () => {
    const url = await start(() => ({ ready: true }));
    expect((await fetch(`${url}/nope`)).status).toBe(404);
    expect((await fetch(`${url}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('answers 500 with the reason when a scrape fails', async () => {
    server = await startObservabilityServer({
      port: 0,
      host: '127.0.0.1',
      scrape: () => Promise.reject(new Error('collector broke')),
      readiness: () => ({ ready: true }),
      logger,
    });
    const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ status: 'error', reason: 'collector broke' });
  });

  it('fails to start on a port already taken', async () => {
    await start(() => ({ ready: true }));
    const taken = server?.port ?? 0;
    await expect(
      startObservabilityServer({
        port: taken,
        host: '127.0.0.1',
        scrape: () => Promise.resolve({ contentType: 'text/plain', body: '' }),
        readiness: () => ({ ready: true }),
        logger,
      }),
    ).rejects.toThrow(/EADDRINUSE/);
  });
});
