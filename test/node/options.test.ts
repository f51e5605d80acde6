import { describe, expect, it } from 'vitest';
import { isSluiceError } from '../../src/domain/errors.js';
import {
  compileClientOptions,
  compileCoordinatorOptions,
  compileWorkerOptions,
} from '../../src/node/options.js';
import { pino } from 'pino';

const logger = pino({ level: 'silent' });
const ok = { brokers: ['127.0.0.1:9092'], registryUrl: 'http://127.0.0.1:8081', logger };

/** The error a compile throws, or a failure of the test when it throws none. */
function refusal(compile: () => unknown): Error & { details?: unknown } {
  try {
    compile();
  } catch (err) {
    expect(isSluiceError(err, 'SLUICE_CONFIG_INVALID')).toBe(true);
    return err as Error;
  }
  throw new Error('expected SLUICE_CONFIG_INVALID');
}

describe('options, checked before anything connects', () => {
  it('fills in the defaults', () => {
    const w = compileWorkerOptions({ ...ok, namespace: 'orders' });
    expect(w.namespace).toBe('orders');
    expect(w.coordinator).toBe(true);
    expect(w.retry).toEqual({ initialMs: 250, maxMs: 5000, budgetMs: 60_000 });
    expect(w.workerId).toMatch(/:\d+$/);
    const c = compileClientOptions(ok);
    expect(c.commandTimeoutMs).toBe(30_000);
    expect(c.issuedBy).toMatch(/@/);
    expect(compileCoordinatorOptions(ok).sessionTimeoutMs).toBe(10_000);
  });

  it('lists every bad option at once, each by its path', () => {
    const err = refusal(() =>
      compileWorkerOptions({
        brokers: ['kafka'],
        registryUrl: 'ftp://registry',
        metricsPort: 70000,
        workerId: '',
      }),
    );
    for (const path of ['brokers.0', 'registryUrl', 'metricsPort', 'workerId'])
      expect(err.message).toContain(`${path}:`);
    expect(err.message).toContain('must be host:port');
    expect(err.message).toContain('not 70000');
  });

  it('refuses no brokers, a session timeout under a second and a bad command timeout', () => {
    expect(refusal(() => compileClientOptions({ ...ok, brokers: [] })).message).toContain(
      'brokers:',
    );
    expect(
      refusal(() => compileCoordinatorOptions({ ...ok, sessionTimeoutMs: 500 })).message,
    ).toContain('sessionTimeoutMs:');
    expect(refusal(() => compileClientOptions({ ...ok, commandTimeoutMs: 1.5 })).message).toContain(
      'commandTimeoutMs:',
    );
  });

  it('refuses a namespace that would break topic names, saying why', () => {
    expect(refusal(() => compileClientOptions({ ...ok, namespace: 'a.b' })).message).toContain(
      'no dots',
    );
  });
});

describe('the replication of the topics Sluice creates', () => {
  it('leaves both settings to the broker unless given', () => {
    expect(compileWorkerOptions(ok).replication).toEqual({});
    expect(compileClientOptions(ok).replication).toEqual({});
    expect(compileCoordinatorOptions(ok).replication).toEqual({});
  });

  it('takes them on every component', () => {
    const given = { replicationFactor: 3, minInsyncReplicas: 2 };
    expect(compileWorkerOptions({ ...ok, ...given }).replication).toEqual(given);
    expect(compileClientOptions({ ...ok, ...given }).replication).toEqual(given);
    expect(compileCoordinatorOptions({ ...ok, ...given }).replication).toEqual(given);
    expect(compileWorkerOptions({ ...ok, minInsyncReplicas: 2 }).replication).toEqual({
      minInsyncReplicas: 2,
    });
  });

  it('refuses counts that are not whole numbers from 1 to 32767', () => {
    const err = refusal(() =>
      compileWorkerOptions({ ...ok, replicationFactor: 0, minInsyncReplicas: 1.5 }),
    );
    expect(err.message).toContain('replicationFactor:');
    expect(err.message).toContain('minInsyncReplicas:');
    expect(
      refusal(() => compileClientOptions({ ...ok, replicationFactor: 40_000 })).message,
    ).toContain('replicationFactor:');
  });

  it('refuses more replicas in sync than replicas, naming both, with the other mistakes', () => {
    for (const compile of [compileWorkerOptions, compileClientOptions, compileCoordinatorOptions]) {
      const err = refusal(() =>
        compile({ ...ok, brokers: ['kafka'], replicationFactor: 2, minInsyncReplicas: 3 }),
      );
      expect(err.message).toContain('brokers.0:');
      expect(err.message).toContain(
        'minInsyncReplicas: must be at most replicationFactor (2), not 3',
      );
    }
  });
});
