import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Coordinator } from '../../src/control/coordinator.js';
import { RegistryClient } from '../../src/codec/registry.js';
import { isSluiceError, type SluiceError } from '../../src/domain/errors.js';
import type { ConnectionSecurity } from '../../src/domain/security.js';
import { resolveInfra, type Infra } from '../../src/infra/index.js';
import { checkReachable } from '../../src/infra/probe.js';
import { makeTestCertificates, type TestCertificates } from '../../src/infra/tls-certs.js';
import { createKafka } from '../../src/kafka/kafkajs/adapter.js';
import { withAdmin } from '../../src/kafka/offsets.js';
import { SluiceClient } from '../../src/node/client.js';
import { Worker } from '../../src/node/worker.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { testNamespace } from '../support/kafka.js';
import { testLogger } from '../support/sluice.js';
import { childEnv, runCli, type RunResult } from '../support/spawn.js';

// A broker whose only client listener is TLS with client authentication required (mutual
// TLS), started by the same infrastructure code as the SASL broker, with a private CA and
// certificates made by openssl for this run; inter-broker traffic (transaction markers) goes over
// the same listener. The registry is the plain one started beside it, reached over HTTPS through
// a small TLS proxy whose certificate the same private CA signed.

const PASSWORD = `reg-pw-${Math.random().toString(36).slice(2, 12)}`;
let infra: Infra;
let certs: TestCertificates;
let foreign: TestCertificates; // another CA, which the broker does not trust
let proxy: Server;
let httpsRegistry = ''; // https://127.0.0.1:<proxy port>/apis/ccompat/v7
const ns = testNamespace('tls');
const dir = mkdtempSync(join(tmpdir(), 'sluice-tls-'));

/** Forwards every request to the plain registry: TLS in front of the real Apicurio. */
function forward(target: URL) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const upstream = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: req.url,
        method: req.method,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  };
}

beforeAll(async () => {
  const started = Date.now();
  infra = await resolveInfra({ mode: 'owned', brokerSecurity: { tls: {} } });
  process.stderr.write(
    `[tls] broker ${infra.brokers.join(',')} ready in ${Date.now() - started} ms\n`,
  );
  if (!infra.tls) throw new Error('a TLS broker without certificates');
  certs = infra.tls;
  foreign = await makeTestCertificates(join(dir, 'foreign'), ['127.0.0.1']);
  const target = new URL(infra.registryUrl);
  proxy = createServer(
    { key: readFileSync(certs.serverKey), cert: readFileSync(certs.serverCert) },
    forward(target),
  );
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  httpsRegistry = `https://127.0.0.1:${(proxy.address() as AddressInfo).port}${target.pathname}`;
}, 180_000);

afterAll(async () => {
  await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
  await infra?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Trusts the private CA and presents the client certificate it signed. */
function mutual(): ConnectionSecurity {
  return { ssl: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey } };
}

async function refusal(
  security: ConnectionSecurity,
  brokers = infra.brokers,
): Promise<SluiceError> {
  const started = Date.now();
  const err = await checkReachable(brokers, infra.registryUrl, 60_000, {
    connection: security,
  }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(Date.now() - started).toBeLessThan(15_000); // refused at once, not at the 60 s deadline
  if (!isSluiceError(err)) throw new Error(`expected a SluiceError, got ${String(err)}`);
  return err;
}

describe('a broker that requires mutual TLS', () => {
  it('is started as an owned, private instance with its CA and certificates', () => {
    expect(infra.source).toBe('java');
    expect(infra.owned).toBe(true);
    expect(readFileSync(certs.ca, 'utf8')).toContain('BEGIN CERTIFICATE');
  });

  it("lets Sluice's Kafka client produce and consume, verifying the broker by the private CA", async () => {
    const kafka = createKafka({
      brokers: infra.brokers,
      clientId: 'tls-io',
      logger: testLogger,
      security: mutual(),
    });
    const topic = `${ns}.hello`;
    await withAdmin(kafka, (admin) => admin.createTopics([{ topic, partitions: 1 }]));
    const producer = kafka.producer();
    await producer.connect();
    await producer.send([{ topic, messages: [{ key: 'k', value: 'hello over mutual TLS' }] }]);
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: `${topic}.group` });
    const value = await new Promise<string>((resolve, reject) => {
      consumer
        .start({
          topics: [topic],
          autoCommit: false,
          eachBatch: ({ records }) => {
            resolve(records[0]?.value?.toString() ?? '');
            return Promise.resolve();
          },
        })
        .catch(reject);
    });
    await consumer.stop();
    expect(value).toBe('hello over mutual TLS');
  });

  it('refuses a client that does not trust the private CA: SLUICE_TLS_FAILED naming --tls-ca', async () => {
    const err = await refusal({ ssl: true });
    expect(err.code).toBe('SLUICE_TLS_FAILED');
    expect(err.message).toContain('not signed by a CA this client trusts');
    expect(err.message).toContain('--tls-ca');
  });

  it('refuses a client without a certificate, and one whose certificate another CA signed', async () => {
    const none = await refusal({ ssl: { ca: certs.ca } });
    expect(none.code).toBe('SLUICE_TLS_FAILED');
    expect(none.message).toContain('requires a client certificate it trusts (mutual TLS)');
    expect(none.message).toContain('--tls-cert and --tls-key');
    const stranger = await refusal({
      ssl: { ca: certs.ca, cert: foreign.clientCert, key: foreign.clientKey },
    });
    expect(stranger.code).toBe('SLUICE_TLS_FAILED');
    expect(stranger.message).toContain('requires a client certificate it trusts');
  });

  it('refuses the broker by a name its certificate does not list (localhost), saying so', async () => {
    const port = infra.brokers[0]?.split(':')[1] ?? '';
    const err = await refusal(mutual(), [`localhost:${port}`]);
    expect(err.code).toBe('SLUICE_TLS_FAILED');
    expect(err.details).toMatchObject({ tlsCode: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    expect(err.message).toContain('does not name the host or address connected to');
  });

  describe('with the registry over HTTPS, and the CLI', () => {
    let coordinator: Coordinator;

    beforeAll(async () => {
      coordinator = new Coordinator({
        kafka: createKafka({
          brokers: infra.brokers,
          clientId: 'tls-coordinator',
          logger: testLogger,
          security: mutual(),
        }),
        registry: new RegistryClient({ url: httpsRegistry, ca: readFileSync(certs.ca, 'utf8') }),
        namespace: ns,
        logger: testLogger,
        sessionTimeoutMs: 6000,
      });
      await coordinator.start();
    }, 120_000);

    afterAll(() => coordinator?.stop());

    const flags = (): string[] => [
      '--tls-ca',
      certs.ca,
      '--tls-cert',
      certs.clientCert,
      '--tls-key',
      certs.clientKey,
    ];

    function cli(args: string[], extra: Record<string, string> = {}): Promise<RunResult> {
      return runCli(args, {
        ...childEnv({}),
        SLUICE_BROKERS: infra.brokers.join(','),
        // Credentials in the URL: sent as basic auth (the proxy passes them on; Apicurio ignores
        // them) and never printed.
        SLUICE_REGISTRY_URL: httpsRegistry.replace('https://', `https://sluice:${PASSWORD}@`),
        SLUICE_NAMESPACE: ns,
        SLUICE_LOG_LEVEL: 'debug',
        ...extra,
      });
    }

    function expectNoSecret(run: RunResult): void {
      expect(run.stdout + run.stderr).not.toContain(PASSWORD);
      expect(run.stdout + run.stderr).not.toContain('PRIVATE KEY-----\n');
    }

    it('`sluice jobs --json` works with --tls-* flags and --registry-ca; `infra status` shows no password', async () => {
      const run = await cli(['jobs', '--json', ...flags(), '--registry-ca', certs.ca]);
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual([]);
      expectNoSecret(run);
      const status = await cli(['infra', 'status', '--json', ...flags()], {
        SLUICE_REGISTRY_CA: certs.ca,
      });
      expect(status.code, status.stderr).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({
        running: true,
        source: 'given',
        registryUrl: httpsRegistry.replace('https://', 'https://sluice:[redacted]@'),
        security: {
          ssl: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey },
          registryCa: certs.ca,
        },
      });
      expectNoSecret(status);
    });

    it('without --registry-ca the registry is refused: exit 1, SLUICE_TLS_FAILED naming --registry-ca', async () => {
      const run = await cli(['jobs', '--json', ...flags()]);
      expect(run.code).toBe(1);
      const { error } = JSON.parse(run.stdout) as { error: { code: string; message: string } };
      expect(error.code).toBe('SLUICE_TLS_FAILED');
      expect(error.message).toContain('--registry-ca');
      expectNoSecret(run);
    });

    it('without a client certificate, or by a name not on the certificate: exit 1 with SLUICE_TLS_FAILED', async () => {
      const noCert = await cli(['jobs', '--json', '--tls-ca', certs.ca, '--registry-ca', certs.ca]);
      expect(noCert.code).toBe(1);
      const e1 = (JSON.parse(noCert.stdout) as { error: { code: string; message: string } }).error;
      expect(e1.code).toBe('SLUICE_TLS_FAILED');
      expect(e1.message).toContain('--tls-cert and --tls-key');
      const port = infra.brokers[0]?.split(':')[1] ?? '';
      const byName = await cli(['jobs', ...flags(), '--registry-ca', certs.ca], {
        SLUICE_BROKERS: `localhost:${port}`,
      });
      expect(byName.code).toBe(1);
      expect(byName.stderr).toContain('error SLUICE_TLS_FAILED: Kafka at localhost:');
      expect(byName.stderr).toContain('does not name the host or address connected to');
      expectNoSecret(byName);
    });

    it('a worker runs an exactly-once job over mutual TLS, with the registry over HTTPS', async () => {
      const [input, output] = [`${ns}.in`, `${ns}.out`];
      const kafka = createKafka({
        brokers: infra.brokers,
        clientId: 'tls-e2e',
        logger: testLogger,
        security: mutual(),
      });
      await withAdmin(kafka, (admin) =>
        admin.createTopics([
          { topic: input, partitions: 1 },
          { topic: output, partitions: 1 },
        ]),
      );
      const security: ConnectionSecurity = { ...mutual(), registryCa: certs.ca };
      const worker = new Worker({
        brokers: infra.brokers,
        registryUrl: httpsRegistry,
        security,
        namespace: ns,
        coordinator: false,
        workerId: 'tls-worker',
        logger: testLogger,
      }).register('shout', (args) =>
        Pipeline.create()
          .readFrom<{ word: string }>(Sources.kafka({ topic: args.input ?? '', format: 'json' }))
          .map((r) => ({ word: r.word.toUpperCase() }), { name: 'upper' })
          .writeTo(Sinks.kafka({ topic: args.output ?? '', format: 'json' })),
      );
      await worker.start();
      const client = await SluiceClient.connect({
        brokers: infra.brokers,
        registryUrl: httpsRegistry,
        security,
        namespace: ns,
        logger: testLogger,
      });
      const consumer = kafka.consumer({ groupId: `${ns}.reader` });
      try {
        const job = await client.submit('shout', {
          name: 'shout',
          processingGuarantee: 'EXACTLY_ONCE',
          snapshotIntervalMs: 500,
          args: { input, output },
        });
        const producer = kafka.producer();
        await producer.connect();
        await producer.send([
          {
            topic: input,
            messages: ['a', 'b', 'c'].map((word) => ({ value: JSON.stringify({ word }) })),
          },
        ]);
        await producer.disconnect();
        const words: string[] = [];
        await new Promise<void>((resolve, reject) => {
          consumer
            .start({
              topics: [output],
              autoCommit: false,
              eachBatch: ({ records, lastOffset }, control) => {
                for (const r of records)
                  words.push((JSON.parse(r.value?.toString() ?? '{}') as { word: string }).word);
                control.resolveOffset(lastOffset);
                if (words.length >= 3) resolve();
                return Promise.resolve();
              },
            })
            .catch(reject);
        });
        expect(words.sort()).toEqual(['A', 'B', 'C']);
        await job.cancel();
      } finally {
        await consumer.stop();
        await client.close();
        await worker.stop();
      }
    }, 120_000);
  });
});
