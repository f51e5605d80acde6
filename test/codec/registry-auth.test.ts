import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/codec/registry.js';
import { isSluiceError } from '../../src/domain/errors.js';
import { probeRegistry } from '../../src/infra/probe.js';

// Apicurio's basic auth needs an identity server, so this stands in for a registry behind basic
// auth: a tiny HTTP server that answers the Confluent API calls Sluice makes (probe, register,
// fetch a schema by id) only with the right Authorization header. It proves the header is sent
// on every path: registration, compatibility, lookups by id and the probe.

const USER = 'registry-user';
const PASSWORD = 'registry-pw-5e1c';
const SCHEMA = { type: 'record', name: 'T', fields: [{ name: 'a', type: 'string' }] };

const seen: { method: string; path: string; authorized: boolean }[] = [];
let url = '';

function answer(req: IncomingMessage, res: ServerResponse): void {
  const expected = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
  const authorized = req.headers.authorization === expected;
  const path = req.url ?? '';
  seen.push({ method: req.method ?? '', path, authorized });
  const send = (status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
    res.end(JSON.stringify(body));
  };
  req.resume();
  if (!authorized) return send(401, { error_code: 401, message: 'Unauthorized' });
  if (req.method === 'GET' && path === '/subjects') return send(200, ['t-value']);
  if (req.method === 'GET' && path.startsWith('/config/'))
    return send(404, { error_code: 40401, message: 'Subject not found' });
  if (req.method === 'POST' && path.endsWith('/versions')) return send(200, { id: 7 });
  if (req.method === 'PUT' && path.startsWith('/config/'))
    return send(200, { compatibility: 'BACKWARD' });
  if (req.method === 'GET' && path === '/schemas/ids/7')
    return send(200, { schema: JSON.stringify(SCHEMA) });
  send(404, { error_code: 404, message: 'no route' });
}

const server = createServer(answer);
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return isSluiceError(err) ? err.code : `not a SluiceError: ${String(err)}`;
  }
  return undefined;
}

describe('a registry behind basic auth', () => {
  it('accepts Sluice with the right credentials on every call it makes', async () => {
    seen.length = 0;
    const registry = new RegistryClient({ url, auth: { username: USER, password: PASSWORD } });
    expect(await registry.register('t-value', SCHEMA)).toBe(7);
    const type = await registry.writerType(7);
    expect(type.name).toBe('T');
    await probeRegistry(url, 3000, { username: USER, password: PASSWORD });
    expect(seen.map((s) => `${s.method} ${s.path}`)).toEqual([
      'GET /config/t-value',
      'PUT /config/t-value',
      'POST /subjects/t-value/versions',
      'GET /schemas/ids/7',
      'GET /subjects',
    ]);
    expect(seen.every((s) => s.authorized)).toBe(true);
  });

  it('refuses a wrong password with SLUICE_AUTH_FAILED, which does not echo it', async () => {
    const registry = new RegistryClient({ url, auth: { username: USER, password: 'wrong-pw-9d' } });
    try {
      await registry.register('t-value', SCHEMA);
      expect.unreachable();
    } catch (err) {
      expect(isSluiceError(err, 'SLUICE_AUTH_FAILED')).toBe(true);
      expect((err as Error).message).toContain('check the registry username and password');
      expect(JSON.stringify(err)).not.toContain('wrong-pw-9d');
    }
    expect(await codeOf(registry.writerType(7))).toBe('SLUICE_AUTH_FAILED');
  });

  it('tells a client without credentials that the registry wants them', async () => {
    const registry = new RegistryClient({ url });
    try {
      await registry.writerType(7);
      expect.unreachable();
    } catch (err) {
      expect(isSluiceError(err, 'SLUICE_AUTH_FAILED')).toBe(true);
      expect((err as Error).message).toContain('SLUICE_REGISTRY_PASSWORD');
    }
    await expect(probeRegistry(url)).rejects.toThrow(/401 Unauthorized/);
  });
});
