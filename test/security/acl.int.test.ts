import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import kafkajs from '../../src/kafka/kafkajs/loader.js';
import { SluiceClient } from '../../src/node/client.js';
import { RegistryClient } from '../../src/codec/registry.js';
import { CommandCodec } from '../../src/codec/log-codec.js';
import { Coordinator } from '../../src/control/coordinator.js';
import { aclBindings, ACL_ROLES, type AclBinding, type AclRole } from '../../src/domain/acl.js';
import { NotAuthorizedError } from '../../src/domain/errors.js';
import { topicNames } from '../../src/domain/resources.js';
import type { ConnectionSecurity } from '../../src/domain/security.js';
import type { Job } from '../../src/client/job.js';
import { resolveInfra, type Infra } from '../../src/infra/index.js';
import { withAdmin } from '../../src/kafka/offsets.js';
import { createKafka } from '../../src/kafka/kafkajs/adapter.js';
import type { Kafka } from '../../src/kafka/port.js';
import { applyAcls } from '../../src/node/acl.js';
import { Worker } from '../../src/node/worker.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { childEnv, runCli, type RunResult } from '../support/spawn.js';
import { testLogger } from '../support/sluice.js';
import { testNamespace } from '../support/kafka.js';
import { jobHops, until } from '../support/job-groups.js';
import { readToEnd } from '../../src/kafka/read-to-end.js';

// Issue 15, items 2-4, against a broker that runs KRaft's StandardAuthorizer, started by the
// project's own infrastructure code (owned by this file): one SCRAM user per Sluice role, a
// super user for setup only. Each role runs with exactly the bindings `sluice acl print`
// gives it; what a role may not do fails fast, names the missing binding, and leaves nothing
// half done.

const pw = (): string => `pw-${Math.random().toString(36).slice(2, 12)}`;
const ADMIN = { username: 'setup-admin', password: pw() };
const USERS: Record<AclRole, { username: string; password: string }> = {
  operator: { username: 'ops', password: pw() },
  worker: { username: 'wrk', password: pw() },
  coordinator: { username: 'coord', password: pw() },
  auditor: { username: 'audit', password: pw() },
  producer: { username: 'app', password: pw() },
};
const ns = testNamespace('acl');
const T = topicNames(ns);
const DATA = `${ns}-app.`;
const [INPUT, OUTPUT] = [`${DATA}in`, `${DATA}out`];
const POISON = 13;

let infra: Infra;
let coordinator: Coordinator | undefined;
let worker: Worker | undefined;
let operator: SluiceClient | undefined;
let job: Job;

const principal = (role: AclRole): string => `User:${USERS[role].username}`;
const security = (user: { username: string; password: string }): ConnectionSecurity => ({
  sasl: { mechanism: 'scram-sha-512', ...user },
});
const kafkaAs = (role: AclRole | 'admin'): Kafka =>
  createKafka({
    brokers: infra.brokers,
    clientId: `acl-${role}`,
    logger: testLogger,
    security: security(role === 'admin' ? ADMIN : USERS[role]),
  });
const bindingsOf = (role: AclRole): AclBinding[] =>
  aclBindings({ role, principal: principal(role), namespace: ns, dataPrefixes: [DATA] });

function cli(role: AclRole | 'admin', args: string[]): Promise<RunResult> {
  const user = role === 'admin' ? ADMIN : USERS[role];
  return runCli([...args, '--json'], {
    ...childEnv({}),
    SLUICE_BROKERS: infra.brokers.join(','),
    SLUICE_REGISTRY_URL: infra.registryUrl,
    SLUICE_NAMESPACE: ns,
    SLUICE_SASL_MECHANISM: 'scram-sha-512',
    SLUICE_SASL_USERNAME: user.username,
    SLUICE_SASL_PASSWORD: user.password,
  });
}

/** The end offsets of the namespace's command topics and job log: what a refusal must not move. */
async function ends(): Promise<Record<string, string>> {
  return withAdmin(kafkaAs('admin'), async (admin) => {
    const out: Record<string, string> = {};
    for (const topic of [T.control, T.reports, T.jobs])
      out[topic] = (await admin.offsets(topic)).map((o) => `${o.partition}:${o.high}`).join(',');
    return out;
  });
}

/** n = 1..count keyed k0..k2, written by the application's principal. */
async function produce(from: number, to: number): Promise<void> {
  const producer = kafkaAs('producer').producer();
  await producer.connect();
  const messages = [];
  for (let n = from; n <= to; n++)
    messages.push({ key: `k${n % 3}`, value: JSON.stringify({ n, k: `k${n % 3}` }) });
  await producer.send([{ topic: INPUT, messages }]);
  await producer.disconnect();
}

/** The sink's latest total per key, read (as the super user) up to the topic's end. */
async function totals(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  // The aggregate writes { key, value } per key; the latest is the total.
  await readToEnd(kafkaAs('admin'), [OUTPUT], (_t, _p, r) => {
    const { key, value } = JSON.parse(r.value?.toString() ?? '{}') as {
      key: string;
      value: number;
    };
    out[key] = value;
  });
  return out;
}

/**
 * True once each of the job's hops (its source group, then its `sum` stage's) has committed
 * through its topic's end: every output of the input so far is then committed. Read through
 * the port, which logs in to the secured broker as the admin.
 */
async function jobThrough(jobId: string): Promise<boolean> {
  return withAdmin(kafkaAs('admin'), async (admin) => {
    for (const hop of jobHops(ns, jobId, INPUT, ['sum'])) {
      const committed = new Map(
        (await admin.committed(hop.group, [hop.topic])).map((o) => [o.partition, BigInt(o.offset)]),
      );
      for (const o of await admin.offsets(hop.topic))
        if (o.high > o.low && (committed.get(o.partition) ?? -1n) < o.high) return false;
    }
    return true;
  });
}

beforeAll(async () => {
  infra = await resolveInfra({
    mode: 'owned',
    brokerSecurity: { sasl: ADMIN, users: Object.values(USERS), authorizer: true },
  });
  await withAdmin(kafkaAs('admin'), (admin) =>
    admin.createTopics([
      { topic: INPUT, partitions: 1 },
      { topic: OUTPUT, partitions: 1 },
    ]),
  );
  // The worker's bindings through the CLI (twice: the second run creates nothing), the others
  // through the same code in-process.
  const first = await cli('admin', [
    'acl',
    'apply',
    '--role',
    'worker',
    '--principal',
    principal('worker'),
    '--data-prefix',
    DATA,
  ]);
  expect(first.code, first.stderr).toBe(0);
  expect((JSON.parse(first.stdout) as { created: unknown[] }).created).toHaveLength(
    bindingsOf('worker').length,
  );
  const again = await cli('admin', [
    'acl',
    'apply',
    '--role',
    'worker',
    '--principal',
    principal('worker'),
    '--data-prefix',
    DATA,
  ]);
  expect(JSON.parse(again.stdout)).toMatchObject({ created: [], extra: [] });
  for (const role of ACL_ROLES.filter((r) => r !== 'worker'))
    await applyAcls(
      { brokers: infra.brokers, security: security(ADMIN), logger: testLogger },
      bindingsOf(role),
    );

  coordinator = new Coordinator({
    kafka: kafkaAs('coordinator'),
    registry: new RegistryClient({ url: infra.registryUrl }),
    namespace: ns,
    logger: testLogger,
    sessionTimeoutMs: 6000,
  });
  await coordinator.start();
  worker = new Worker({
    brokers: infra.brokers,
    registryUrl: infra.registryUrl,
    security: security(USERS.worker),
    namespace: ns,
    coordinator: false,
    workerId: 'acl-worker',
    metricsPort: 0,
    logger: testLogger,
  }).register('totals', (args) =>
    Pipeline.create()
      .readFrom<{ n: number; k: string }>(Sources.kafka({ topic: args.input ?? '' }))
      .map(
        (r) => {
          if (r.n === POISON) throw new RangeError(`n=${r.n} is poison`);
          return r;
        },
        { name: 'check' },
      )
      .groupingKey((r) => r.k)
      .aggregate({ name: 'sum', init: () => 0, add: (s: number, r) => s + r.n })
      .writeTo(Sinks.kafka({ topic: args.output ?? '' })),
  );
  await worker.start();
  operator = await SluiceClient.connect({
    brokers: infra.brokers,
    registryUrl: infra.registryUrl,
    security: security(USERS.operator),
    namespace: ns,
    issuedBy: 'ops',
    logger: testLogger,
  });
}, 240_000);

afterAll(async () => {
  await operator?.close();
  await worker?.stop();
  await coordinator?.stop();
  await infra?.stop();
});

describe('roles under the StandardAuthorizer', () => {
  it('each principal holds exactly the bindings `sluice acl print` gives its role', async () => {
    for (const role of ACL_ROLES) {
      const held = await withAdmin(kafkaAs('admin'), (a) => a.describeAcls(principal(role)));
      const key = (b: AclBinding): string => JSON.stringify(b);
      expect(held.map(key).sort(), role).toEqual(bindingsOf(role).map(key).sort());
    }
  });

  it(
    'runs an exactly-once job with a poison record: suspended, resumed skipping it, and on',
    { timeout: 240_000 },
    async () => {
      if (!operator) throw new Error('no operator client');
      job = await operator.submit('totals', {
        name: 'totals',
        processingGuarantee: 'EXACTLY_ONCE',
        suspendOnFailure: true,
        snapshotIntervalMs: 500,
        args: { input: INPUT, output: OUTPUT },
      });
      await produce(1, 20);
      await until(() => job.status() === 'SUSPENDED_DUE_TO_ERROR', 'the job is suspended', 120_000);
      expect(job.suspensionCause()).toMatchObject({
        stage: 'check',
        record: { topic: INPUT, offset: String(POISON - 1) },
      });
      await job.resume({ failingRecord: 'SKIP' });
      await until(() => job.status() === 'RUNNING', 'the job runs again', 60_000);
      await produce(21, 30);
      const expected: Record<string, number> = {};
      for (let n = 1; n <= 30; n++)
        if (n !== POISON) expected[`k${n % 3}`] = (expected[`k${n % 3}`] ?? 0) + n;
      // Final once the job's groups are through the input's end: read, then compared once.
      await until(() => jobThrough(job.id), 'the job through its input', 60_000);
      const seen = await totals();
      expect(seen).toEqual(expected);
    },
  );

  it('lets the auditor read status and history, as a CLI user', async () => {
    const status = await cli('auditor', ['status', 'totals']);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ jobId: job.id, status: 'RUNNING' });
    const history = await cli('auditor', ['history', 'totals']);
    expect(history.code, history.stderr).toBe(0);
    expect(history.stdout).toContain('JobSuspendedDueToError');
  });
});

describe('what a role may not do', () => {
  it("refuses, at the broker, an operator's forged report on the reports topic", async () => {
    const before = await ends();
    const codec = new CommandCodec(new RegistryClient({ url: infra.registryUrl }), T.reports);
    await codec.ready();
    const forged = codec.encode({
      type: 'ReportCompleted',
      jobId: job.id,
      commandId: 'forged',
      issuedBy: 'ops',
      at: Date.now(),
      worker: 'acl-worker',
    });
    const producer = kafkaAs('operator').producer();
    await producer.connect();
    const err = await producer
      .send([{ topic: T.reports, messages: [{ key: job.id, value: forged }] }])
      .catch((e: unknown) => e);
    await producer.disconnect();
    expect(err).toBeInstanceOf(NotAuthorizedError);
    expect(err).toMatchObject({
      code: 'SLUICE_NOT_AUTHORIZED',
      details: { operation: 'WRITE', resourceType: 'TOPIC', resource: T.reports },
    });
    expect(refusedBy(err)).toBe('TOPIC_AUTHORIZATION_FAILED');
    expect(await ends()).toEqual(before);
    expect(job.status()).toBe('RUNNING');
  });

  it("refuses, at the broker, a worker's SubmitJob on the control topic", async () => {
    const before = await ends();
    const codec = new CommandCodec(new RegistryClient({ url: infra.registryUrl }), T.control);
    await codec.ready();
    const submit = codec.encode({
      type: 'SubmitJob',
      jobId: 'rogue',
      commandId: 'rogue',
      issuedBy: 'wrk',
      at: Date.now(),
      pipeline: 'totals',
      config: job.config(),
    });
    const raw = new kafkajs.Kafka({
      clientId: 'acl-raw-worker',
      brokers: infra.brokers,
      sasl: { mechanism: 'scram-sha-512', ...USERS.worker },
      retry: { retries: 0 },
      logLevel: kafkajs.logLevel.NOTHING,
    }).producer();
    await raw.connect();
    const err = await raw
      .send({ topic: T.control, messages: [{ value: submit }] })
      .catch((e: unknown) => e);
    await raw.disconnect();
    expect(refusedBy(err)).toBe('TOPIC_AUTHORIZATION_FAILED');
    expect(await ends()).toEqual(before);
  });

  it('fails `sluice cancel` as the auditor fast with SLUICE_NOT_AUTHORIZED, exit code 1, nothing sent', async () => {
    const before = await ends();
    const started = Date.now();
    const run = await cli('auditor', ['cancel', 'totals']);
    expect(run.code, run.stderr).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({
      error: {
        code: 'SLUICE_NOT_AUTHORIZED',
        details: { operation: 'WRITE', resourceType: 'TOPIC', resource: T.control },
      },
    });
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(await ends()).toEqual(before);
    expect(job.status()).toBe('RUNNING');
  });

  it('fails `sluice acl apply` as the operator with SLUICE_NOT_AUTHORIZED on the cluster', async () => {
    const run = await cli('operator', [
      'acl',
      'apply',
      '--role',
      'operator',
      '--principal',
      principal('operator'),
    ]);
    expect(run.code, run.stderr).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({
      error: { code: 'SLUICE_NOT_AUTHORIZED', details: { resourceType: 'CLUSTER' } },
    });
  });

  it("fails the application's principal reading the job log with SLUICE_NOT_AUTHORIZED", async () => {
    const run = await cli('producer', ['jobs']);
    expect(run.code, run.stderr).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ error: { code: 'SLUICE_NOT_AUTHORIZED' } });
  });

  it('fails `sluice suspend` as a worker principal with SLUICE_NOT_AUTHORIZED, nothing sent', async () => {
    const before = await ends();
    const run = await cli('worker', ['suspend', 'totals']);
    expect(run.code, run.stderr).toBe(1);
    // Refused before it could send: a worker reads the log under its own groups, not a client's.
    expect(JSON.parse(run.stdout)).toMatchObject({
      error: {
        code: 'SLUICE_NOT_AUTHORIZED',
        details: {
          operation: 'READ',
          resourceType: 'GROUP',
          resource: expect.stringMatching(new RegExp(`^${ns}\\.client\\.`)) as unknown,
        },
      },
    });
    expect(await ends()).toEqual(before);
    expect(job.status()).toBe('RUNNING');
  });
});

describe("a role in another role's place", () => {
  it('fails `sluice coordinator` as a worker principal fast with SLUICE_NOT_AUTHORIZED, exit code 1', async () => {
    const before = await ends();
    const run = await cli('worker', ['coordinator']);
    expect(run.code, run.stderr).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({
      error: {
        code: 'SLUICE_NOT_AUTHORIZED',
        details: { operation: 'READ', resourceType: 'GROUP', resource: `${ns}.coordinator` },
      },
    });
    expect(await ends()).toEqual(before);
    expect(coordinator?.isActive()).toBe(true);
  });

  it('fails a worker started as an operator principal with SLUICE_NOT_AUTHORIZED', async () => {
    const impostor = new Worker({
      brokers: infra.brokers,
      registryUrl: infra.registryUrl,
      security: security(USERS.operator),
      namespace: ns,
      coordinator: false,
      workerId: 'impostor',
      metricsPort: 0,
      logger: testLogger,
    }).register('totals', () =>
      Pipeline.create()
        .readFrom(Sources.kafka({ topic: INPUT }))
        .writeTo(Sinks.kafka({ topic: OUTPUT })),
    );
    const err = await impostor.start().catch((e: unknown) => e);
    await impostor.stop().catch(() => undefined);
    expect(err).toBeInstanceOf(NotAuthorizedError);
    expect(err).toMatchObject({
      details: {
        operation: 'READ',
        resourceType: 'GROUP',
        resource: expect.stringMatching(new RegExp(`^${ns}\\.worker\\.`)) as unknown,
      },
    });
  });
});

/** The protocol error an authorizer refused with, through the clients' wrappers. */
function refusedBy(err: unknown): string | undefined {
  for (
    let e = err as { type?: string; cause?: unknown; originalError?: unknown } | undefined, i = 0;
    e && i < 5;
    i++
  ) {
    if (typeof e.type === 'string' && e.type.endsWith('_AUTHORIZATION_FAILED')) return e.type;
    e = (e.cause ?? e.originalError) as typeof e;
  }
  return undefined;
}
