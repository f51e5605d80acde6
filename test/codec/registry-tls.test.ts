import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/codec/registry.js';
import { isSluiceError, type SluiceError } from '../../src/domain/errors.js';
import { probeRegistry } from '../../src/infra/probe.js';
import { makeTestCertificates, type TestCertificates } from '../../src/infra/tls-certs.js';

// A registry over HTTPS whose certificate a private CA signed, made here with openssl: a real
// TLS server (node:https) answering the Confluent API calls Sluice makes, and Sluice's own
// registry client and probe on the other side of a real handshake. The registry itself behind
// TLS, proxied, is in test/security/tls.int.test.ts.

const SCHEMA = { type: 'record', name: 'T', fields: [{ name: 'a', type: 'string' }] };
const PASSWORD = 'url-pw-4c1d';
const dir = mkdtempSync(join(tmpdir(), 'sluice-registry-tls-'));
let certs: TestCertificates;
let ca = '';
let port = 0;
const authorizations: (string | undefined)[] = [];

function answer(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  authorizations.push(req.headers.authorization);
  const send = (status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
    res.end(JSON.stringify(body));
  };
  const path = req.url ?? '';
  if (req.method === 'GET' && path === '/subjects') return send(200, []);
  if (req.method === 'GET' && path.startsWith('/config/')) return send(404, { error_code: 40401 });
  if (req.method === 'PUT' && path.startsWith('/config/')) return send(200, {});
  if (req.method === 'POST' && path.endsWith('/versions')) return send(200, { id: 3 });
  if (req.method === 'GET' && path === '/schemas/ids/3')
    return send(200, { schema: JSON.stringify(SCHEMA) });
  send(404, { error_code: 404 });
}

let close = (): Promise<void> => Promise.resolve();
beforeAll(async () => {
  certs = await makeTestCertificates(join(dir, 'pki'), ['127.0.0.1']);
  ca = readFileSync(certs.ca, 'utf8');
  const server = createServer(
    { key: readFileSync(certs.serverKey), cert: readFileSync(certs.serverCert) },
    answer,
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  close = () => new Promise<void>((resolve) => server.close(() => resolve()));
}, 60_000);
afterAll(async () => {
  await close();
  rmSync(dir, { recursive: true, force: true });
});

async function failure(p: Promise<unknown>): Promise<SluiceError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isSluiceError(err)) throw new Error(`expected a SluiceError, got ${String(err)}`);
  return err;
}

describe('a registry over HTTPS with a private CA', () => {
  it('is used for registration, lookups and the probe when its CA is given', async () => {
    const registry = new RegistryClient({ url: `https://127.0.0.1:${port}`, ca });
    expect(await registry.register('t-value', SCHEMA)).toBe(3);
    expect((await registry.writerType(3)).name).toBe('T');
    await probeRegistry(`https://127.0.0.1:${port}`, 3000, undefined, ca);
  });

  it('is refused at once without the CA, with SLUICE_TLS_FAILED naming --registry-ca', async () => {
    const started = Date.now();
    const err = await failure(
      new RegistryClient({ url: `https://127.0.0.1:${port}` }).register('t-value', SCHEMA),
    );
    expect(err.code).toBe('SLUICE_TLS_FAILED');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('not signed by a CA this client trusts');
    expect(err.message).toContain('--registry-ca <file> (SLUICE_REGISTRY_CA');
    expect(Date.now() - started).toBeLessThan(5_000); // not the retry budget
    const probe = await failure(probeRegistry(`https://127.0.0.1:${port}`, 3000));
    expect(probe.code).toBe('SLUICE_TLS_FAILED');
  });

  it('is refused by a name its certificate does not list, saying so', async () => {
    const err = await failure(
      new RegistryClient({ url: `https://localhost:${port}`, ca }).writerType(3),
    );
    expect(err.code).toBe('SLUICE_TLS_FAILED');
    expect(err.details).toMatchObject({ tlsCode: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    expect(err.message).toContain('does not name the host or address connected to');
    expect(err.message).toContain('localhost');
  });

  it('takes credentials from the URL as basic auth, and never shows them', async () => {
    authorizations.length = 0;
    const url = `https://sluice:${PASSWORD}@127.0.0.1:${port}`;
    const registry = new RegistryClient({ url, ca });
    expect((await registry.writerType(3)).name).toBe('T');
    const basic = `Basic ${Buffer.from(`sluice:${PASSWORD}`).toString('base64')}`;
    expect(authorizations).toEqual([basic]);
    const err = await failure(new RegistryClient({ url }).writerType(3)); // no CA: refused
    expect(err.message).toContain(`https://127.0.0.1:${port}`);
    expect(JSON.stringify({ m: err.message, d: err.details })).not.toContain(PASSWORD);
  });
});
