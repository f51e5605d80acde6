import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/codec/registry.js';
import { isSluiceError } from '../../src/domain/errors.js';

// How the client reads each answer a registry can give. A scripted HTTP server plays the
// registry, because the answers under test (a 500, a 409 from a create that raced another, a
// body that is not JSON) cannot be provoked on demand from a real one; the real registry's
// side is in registry-race.int.test.ts.

const SCHEMA = { type: 'record', name: 'T', fields: [{ name: 'a', type: 'string' }] };
const FAST = { policy: { initialMs: 1, maxMs: 5, budgetMs: 2_000 } };
const NO_RETRY = { policy: { initialMs: 1, maxMs: 1, budgetMs: 0 } };

type Answer = [number, unknown] | 'hang' | 'garbage';
let script: ((method: string, path: string) => Answer | undefined)[] = [];
const seen: string[] = [];
let url = '';

function answer(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  const call = `${req.method} ${req.url}`;
  seen.push(call);
  let got: Answer | undefined;
  for (const rule of script) {
    got = rule(req.method ?? '', req.url ?? '');
    if (got) break;
  }
  if (got === 'hang') return; // never answers: the client's timeout must fire
  if (got === 'garbage') {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<html>a proxy page</html>');
    return;
  }
  const [status, body] = got ?? [404, { error_code: 404, message: `no route for ${call}` }];
  res.writeHead(status, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
  res.end(JSON.stringify(body));
}

const server = createServer(answer);
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** A port nothing listens on: one the system just gave out and took back. */
async function closedPort(): Promise<string> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
beforeEach(() => {
  script = [];
  seen.length = 0;
});

async function failure(
  p: Promise<unknown>,
): Promise<Error & { code?: string; retryable?: boolean }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected a failure');
}

/** A registry where the subject is new: no config, registration succeeds with id 5. */
const fresh = (method: string, path: string): Answer | undefined => {
  if (method === 'GET' && path === '/config/t-value') return [404, { error_code: 40401 }];
  if (method === 'PUT' && path === '/config/t-value') return [200, { compatibility: 'BACKWARD' }];
  if (method === 'POST' && path === '/subjects/t-value/versions') return [200, { id: 5 }];
  return undefined;
};

describe('RegistryClient.register', () => {
  it('sets BACKWARD before the first schema of a new subject, then registers', async () => {
    script = [fresh];
    expect(await new RegistryClient({ url }, FAST).register('t-value', SCHEMA)).toBe(5);
    expect(seen).toEqual([
      'GET /config/t-value',
      'PUT /config/t-value',
      'POST /subjects/t-value/versions',
    ]);
  });

  it("treats NONE as unset, and keeps an operator's own level", async () => {
    script = [
      (m, p) =>
        m === 'GET' && p === '/config/t-value' ? [200, { compatibilityLevel: 'NONE' }] : undefined,
      fresh,
    ];
    await new RegistryClient({ url }, FAST).register('t-value', SCHEMA);
    expect(seen).toContain('PUT /config/t-value');

    seen.length = 0;
    script = [
      (m, p) =>
        m === 'GET' && p === '/config/t-value' ? [200, { compatibilityLevel: 'FULL' }] : undefined,
      fresh,
    ];
    await new RegistryClient({ url }, FAST).register('t-value', SCHEMA);
    expect(seen).toEqual(['GET /config/t-value', 'POST /subjects/t-value/versions']);
  });

  it('reads a 409 from a create that raced another as success when the schema is there', async () => {
    script = [
      (m, p) =>
        m === 'POST' && p === '/subjects/t-value/versions'
          ? [409, { error_code: 409, message: 'artifact exists' }]
          : undefined,
      (m, p) =>
        m === 'POST' && p === '/subjects/t-value' ? [200, { id: 9, version: 1 }] : undefined,
      fresh,
    ];
    expect(await new RegistryClient({ url }, FAST).register('t-value', SCHEMA)).toBe(9);
  });

  it('retries a 409 while the subject has no version yet, and succeeds once it does', async () => {
    let lookups = 0;
    script = [
      (m, p) =>
        m === 'POST' && p === '/subjects/t-value/versions' ? [409, { error_code: 409 }] : undefined,
      (m, p) => {
        if (m !== 'POST' || p !== '/subjects/t-value') return undefined;
        return ++lookups < 3 ? [404, { error_code: 40401 }] : [200, { id: 11 }];
      },
      (m, p) =>
        m === 'GET' && p === '/subjects/t-value/versions'
          ? [404, { error_code: 40401 }]
          : undefined,
      fresh,
    ];
    expect(await new RegistryClient({ url }, FAST).register('t-value', SCHEMA)).toBe(11);
    expect(lookups).toBe(3);
  });

  it('names a real incompatibility, with the registry message, and does not retry it', async () => {
    script = [
      (m, p) =>
        m === 'POST' && p === '/subjects/t-value/versions'
          ? [409, { error_code: 409, message: 'Incompatible artifact: y at /fields/0' }]
          : undefined,
      (m, p) =>
        m === 'POST' && p === '/subjects/t-value' ? [404, { error_code: 40403 }] : undefined,
      (m, p) => (m === 'GET' && p === '/subjects/t-value/versions' ? [200, [1]] : undefined),
      fresh,
    ];
    const err = await failure(new RegistryClient({ url }, FAST).register('t-value', SCHEMA));
    expect(isSluiceError(err, 'SLUICE_SCHEMA_INCOMPATIBLE')).toBe(true);
    expect(err.message).toContain('Incompatible artifact: y at /fields/0');
    expect(seen.filter((s) => s === 'POST /subjects/t-value/versions')).toHaveLength(1);
  });

  it('waits out 5xx answers within the budget', async () => {
    let errors = 0;
    script = [
      (m, p) =>
        m === 'POST' && p === '/subjects/t-value/versions' && ++errors <= 3
          ? [503, { message: 'starting' }]
          : undefined,
      fresh,
    ];
    expect(await new RegistryClient({ url }, FAST).register('t-value', SCHEMA)).toBe(5);
    expect(errors).toBe(4);
  });

  it('reports a registry that stays away as SLUICE_REGISTRY_UNAVAILABLE naming the call and why', async () => {
    script = [() => [500, { message: 'database down' }]];
    const err = await failure(new RegistryClient({ url }, NO_RETRY).register('t-value', SCHEMA));
    expect(isSluiceError(err, 'SLUICE_REGISTRY_UNAVAILABLE')).toBe(true);
    expect(err.message).toMatch(/reading the compatibility of "t-value".*500/);
    expect(err.retryable).toBe(true);

    const refused = await failure(
      new RegistryClient({ url: await closedPort() }, NO_RETRY).register('t-value', SCHEMA),
    );
    expect(isSluiceError(refused, 'SLUICE_REGISTRY_UNAVAILABLE')).toBe(true);
    expect(refused.message).toContain('connection refused');

    script = [() => 'garbage'];
    const html = await failure(new RegistryClient({ url }, NO_RETRY).register('t-value', SCHEMA));
    expect(isSluiceError(html, 'SLUICE_REGISTRY_UNAVAILABLE')).toBe(true);
    expect(html.message).toContain('not JSON');
  });

  it('counts a registry that does not answer in time as unavailable', async () => {
    script = [() => 'hang'];
    const client = new RegistryClient({ url, timeoutMs: 200 }, NO_RETRY);
    const err = await failure(client.register('t-value', SCHEMA));
    expect(isSluiceError(err, 'SLUICE_REGISTRY_UNAVAILABLE')).toBe(true);
    expect(err.message).toContain('no answer in time');
  });
});

describe('RegistryClient.writerType', () => {
  it('tells an unknown id (permanent) from an unreachable registry (retryable)', async () => {
    script = [(m, p) => (p === '/schemas/ids/3' ? [404, { error_code: 40403 }] : undefined)];
    const unknown = await failure(new RegistryClient({ url }).writerType(3));
    expect(isSluiceError(unknown, 'SLUICE_DECODE_FAILED')).toBe(true);
    expect(unknown.message).toContain('Schema id 3 is not in the registry');

    const down = await failure(new RegistryClient({ url: await closedPort() }).writerType(3));
    expect(isSluiceError(down, 'SLUICE_REGISTRY_UNAVAILABLE')).toBe(true);
    expect(down.retryable).toBe(true);
  });

  it('does not cache a failed lookup: the registry may come back', async () => {
    let calls = 0;
    script = [
      (m, p) =>
        p === '/schemas/ids/4'
          ? ++calls === 1
            ? [503, {}]
            : [200, { schema: JSON.stringify(SCHEMA) }]
          : undefined,
    ];
    const client = new RegistryClient({ url });
    expect(isSluiceError(await failure(client.writerType(4)), 'SLUICE_REGISTRY_UNAVAILABLE')).toBe(
      true,
    );
    expect((await client.writerType(4)).name).toBe('T');
    expect(await client.writerType(4)).toBe(await client.writerType(4));
    expect(calls).toBe(2);
  });
});
