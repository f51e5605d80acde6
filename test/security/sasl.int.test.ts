import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kafka, SASLOptions } from 'kafkajs';
import kafkajs from '../../src/kafka/kafkajs/loader.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SluiceClient } from '../../src/node/client.js';
import { RegistryClient } from '../../src/codec/registry.js';
import { Coordinator } from '../../src/control/coordinator.js';
import { isSluiceError } from '../../src/domain/errors.js';
import type { ConnectionSecurity, SaslMechanism } from '../../src/domain/security.js';
import { resolveInfra, type Infra } from '../../src/infra/index.js';
import { checkReachable } from '../../src/infra/probe.js';
import { withAdmin } from '../../src/kafka/offsets.js';
import { createKafka } from '../../src/kafka/kafkajs/adapter.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { Worker } from '../../src/node/worker.js';
import { childEnv, runCli, type RunResult } from '../support/spawn.js';
import { testLogger } from '../support/sluice.js';
import { testNamespace } from '../support/kafka.js';

// A broker that requires SASL, started by the same infrastructure code as every other test
// broker (owned by this file, stopped at the end), with SCRAM-SHA-256, SCRAM-SHA-512 and PLAIN
// enabled on its only client listener. Its registry is a plain one started beside it.

const USER = 'sluice-admin';
const PASSWORD = `pw-${Math.random().toString(36).slice(2, 12)}`;
const WRONG = `wrong-${Math.random().toString(36).slice(2, 12)}`;

let infra: Infra;
let startMs = 0;
const ns = testNamespace('sasl');
const dir = mkdtempSync(join(tmpdir(), 'sluice-sasl-'));

beforeAll(async () => {
  const started = Date.now();
  infra = await resolveInfra({
    mode: 'owned',
    brokerSecurity: { sasl: { username: USER, password: PASSWORD } },
  });
  startMs = Date.now() - started;
  process.stderr.write(`[sasl] broker ${infra.brokers.join(',')} ready in ${startMs} ms\n`);
}, 180_000);

afterAll(async () => {
  await infra?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function security(mechanism: SaslMechanism, password = PASSWORD): ConnectionSecurity {
  return { sasl: { mechanism, username: USER, password } };
}

function bareKafka(sasl?: SASLOptions): Kafka {
  return new kafkajs.Kafka({
    clientId: 'sasl-test',
    brokers: infra.brokers,
    ...(sasl && { sasl }),
    connectionTimeout: 3000,
    retry: { retries: 0 },
    logLevel: kafkajs.logLevel.NOTHING,
  });
}

describe('a broker that requires SASL', () => {
  it('is started as an owned, private instance, not the shared plain one', () => {
    expect(infra.source).toBe('java');
    expect(infra.owned).toBe(true);
  });

  it('closes the connection of a client without credentials at its first real request', async () => {
    const admin = bareKafka().admin();
    // Kafka answers ApiVersions before the SASL handshake (KIP-43), so connecting alone succeeds.
    await admin.connect();
    await expect(admin.describeCluster()).rejects.toMatchObject({
      name: 'KafkaJSConnectionClosedError',
    });
    await admin.disconnect();
  });

  it('refuses a wrong password', async () => {
    const admin = bareKafka({
      mechanism: 'scram-sha-256',
      username: USER,
      password: WRONG,
    }).admin();
    await expect(admin.connect()).rejects.toBeInstanceOf(kafkajs.KafkaJSSASLAuthenticationError);
    await admin.disconnect();
  });

  it("makes Sluice's reachability check fail fast on a wrong password, and hint at SASL without one", async () => {
    const wrong = checkReachable(infra.brokers, infra.registryUrl, 60_000, {
      connection: { sasl: { mechanism: 'scram-sha-512', username: USER, password: WRONG } },
    });
    const started = Date.now();
    await expect(wrong).rejects.toMatchObject({ code: 'SLUICE_AUTH_FAILED' });
    expect(Date.now() - started).toBeLessThan(10_000); // not the 60 s deadline: no retries
    const err = await checkReachable(infra.brokers, infra.registryUrl, 3000).catch(
      (e: unknown) => e,
    );
    expect(isSluiceError(err, 'SLUICE_INFRA_UNREACHABLE')).toBe(true);
    expect((err as Error).message).toContain('it may require TLS or SASL');
  });

  it.each(['scram-sha-256', 'scram-sha-512', 'plain'] as const)(
    "lets Sluice's Kafka client produce and consume with %s",
    async (mechanism) => {
      const kafka = createKafka({
        brokers: infra.brokers,
        clientId: `sasl-${mechanism}`,
        logger: testLogger,
        security: security(mechanism),
      });
      const topic = `${ns}.${mechanism}`;
      await withAdmin(kafka, (admin) => admin.createTopics([{ topic, partitions: 1 }]));
      const producer = kafka.producer();
      await producer.connect();
      await producer.send([{ topic, messages: [{ key: 'k', value: `hello over ${mechanism}` }] }]);
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
      expect(value).toBe(`hello over ${mechanism}`);
    },
  );

  describe('end to end', () => {
    let coordinator: Coordinator;
    let jobId = '';

    beforeAll(async () => {
      // The coordinator's transactions need the broker's own SCRAM login (transaction markers
      // go over the inter-broker listener), so this also proves the broker is set up whole.
      coordinator = new Coordinator({
        kafka: createKafka({
          brokers: infra.brokers,
          clientId: 'sasl-coordinator',
          logger: testLogger,
          security: security('scram-sha-512'),
        }),
        registry: new RegistryClient({ url: infra.registryUrl }),
        namespace: ns,
        logger: testLogger,
        sessionTimeoutMs: 6000,
      });
      await coordinator.start();
      const client = await SluiceClient.connect({
        brokers: infra.brokers,
        registryUrl: infra.registryUrl,
        security: security('scram-sha-256'),
        namespace: ns,
        issuedBy: 'sasl-test',
        logger: testLogger,
      });
      try {
        jobId = (await client.submit('order-totals', { name: 'secured-job' })).id;
      } finally {
        await client.close();
      }
    }, 120_000);

    afterAll(() => coordinator?.stop());

    function cli(args: string[], extra: Record<string, string> = {}): Promise<RunResult> {
      return runCli(args, {
        ...childEnv(extra),
        SLUICE_BROKERS: infra.brokers.join(','),
        SLUICE_REGISTRY_URL: infra.registryUrl,
        SLUICE_NAMESPACE: ns,
        // Every log line Sluice and kafkajs write, so the check below covers logs too.
        SLUICE_LOG_LEVEL: 'debug',
      });
    }

    function expectNoSecret(run: RunResult): void {
      expect(run.stdout).not.toContain(PASSWORD);
      expect(run.stderr).not.toContain(PASSWORD);
      expect(run.stdout).not.toContain(WRONG);
      expect(run.stderr).not.toContain(WRONG);
    }

    it('`sluice jobs --json` lists jobs with --sasl-* flags and a password file', async () => {
      const passwordFile = join(dir, 'password');
      writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
      const run = await cli([
        'jobs',
        '--json',
        '--sasl-mechanism',
        'scram-sha-512',
        '--sasl-username',
        USER,
        '--sasl-password-file',
        passwordFile,
      ]);
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject([{ jobId, name: 'secured-job' }]);
      expect(run.stderr).toContain('"level":20'); // debug logs were written, and checked
      expectNoSecret(run);
    });

    it('`sluice jobs --json` lists jobs with SLUICE_SASL_* variables', async () => {
      const run = await cli(['jobs', '--json'], {
        SLUICE_SASL_MECHANISM: 'SCRAM-SHA-256',
        SLUICE_SASL_USERNAME: USER,
        SLUICE_SASL_PASSWORD: PASSWORD,
      });
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject([{ jobId, name: 'secured-job' }]);
      expectNoSecret(run);
    });

    it('`sluice infra status --json` shows the settings in use with the password redacted', async () => {
      const config = join(dir, 'sluice.json');
      writeFileSync(
        config,
        JSON.stringify({ sasl: { mechanism: 'plain', username: USER, password: PASSWORD } }),
      );
      const run = await cli(['infra', 'status', '--json'], { SLUICE_CONFIG: config });
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({
        running: true,
        source: 'given',
        security: { sasl: { mechanism: 'plain', username: USER, password: '[redacted]' } },
      });
      expectNoSecret(run);
    });

    it('a wrong password fails at once with SLUICE_AUTH_FAILED and exit code 1, without printing it', async () => {
      const started = Date.now();
      const run = await cli(['jobs', '--json'], {
        SLUICE_SASL_MECHANISM: 'scram-sha-512',
        SLUICE_SASL_USERNAME: USER,
        SLUICE_SASL_PASSWORD: WRONG,
      });
      expect(run.code).toBe(1);
      const { error } = JSON.parse(run.stdout) as { error: { code: string; message: string } };
      expect(error.code).toBe('SLUICE_AUTH_FAILED');
      expect(error.message).toContain('refused the SASL scram-sha-512 login');
      expect(Date.now() - started).toBeLessThan(15_000);
      expectNoSecret(run);
    });

    it('a worker runs an exactly-once job over SCRAM, from source topic to sink topic', async () => {
      const [input, output] = [`${ns}.in`, `${ns}.out`];
      const kafka = createKafka({
        brokers: infra.brokers,
        clientId: 'sasl-io',
        logger: testLogger,
        security: security('scram-sha-256'),
      });
      await withAdmin(kafka, (admin) =>
        admin.createTopics([
          { topic: input, partitions: 1 },
          { topic: output, partitions: 1 },
        ]),
      );

      const worker = new Worker({
        brokers: infra.brokers,
        registryUrl: infra.registryUrl,
        security: security('scram-sha-512'),
        namespace: ns,
        coordinator: false,
        workerId: 'sasl-worker',
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
        registryUrl: infra.registryUrl,
        security: security('plain'),
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
    });
  });
});
