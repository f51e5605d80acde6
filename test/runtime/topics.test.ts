import { describe, expect, it } from 'vitest';
import { isSluiceError } from '../../src/domain/errors.js';
import { MemoryCluster, VirtualClock } from '../../src/kafka/memory/index.js';
import type { NewTopic } from '../../src/kafka/port.js';
import { ensureChangelogs, ensureRepartitions } from '../../src/runtime/topics.js';
import { recordingAdmin } from '../support/recording-admin.js';

// A job's changelog and repartition topics (src/runtime/topics.ts) created with the worker's
// replication settings, or none.

function world() {
  const cluster = new MemoryCluster({ clock: new VirtualClock() });
  const requests: NewTopic[][] = [];
  return { cluster, requests, admin: recordingAdmin(cluster.client('w').admin(), requests) };
}

describe('a job’s topics', () => {
  it('are created without replication settings unless given', async () => {
    const { admin, requests } = world();
    await ensureChangelogs(admin, ['ns.state.j.count'], 3);
    await ensureRepartitions(admin, ['ns.repartition.j.count'], 3);
    expect(requests).toEqual([
      [{ topic: 'ns.state.j.count', partitions: 3, config: { 'cleanup.policy': 'compact' } }],
      [{ topic: 'ns.repartition.j.count', partitions: 3, config: { 'retention.ms': '-1' } }],
    ]);
  });

  it('get the replication given: changelogs stay compacted', async () => {
    const { admin, requests } = world();
    const replication = { replicationFactor: 1, minInsyncReplicas: 1 };
    await ensureChangelogs(admin, ['ns.state.j.count'], 3, replication);
    await ensureRepartitions(admin, ['ns.repartition.j.count'], 3, replication);
    expect(requests).toEqual([
      [
        {
          topic: 'ns.state.j.count',
          partitions: 3,
          replicationFactor: 1,
          config: { 'cleanup.policy': 'compact', 'min.insync.replicas': '1' },
        },
      ],
      [
        {
          topic: 'ns.repartition.j.count',
          partitions: 3,
          replicationFactor: 1,
          config: { 'retention.ms': '-1', 'min.insync.replicas': '1' },
        },
      ],
    ]);
  });

  it('that exist already are left as they are', async () => {
    const { admin, requests, cluster } = world();
    cluster.createTopic('ns.state.j.count', 3, { 'cleanup.policy': 'compact' });
    await ensureChangelogs(admin, ['ns.state.j.count'], 3, { replicationFactor: 3 });
    expect(requests).toEqual([]);
  });

  it('fail with the numbers when the cluster cannot give the replication factor', async () => {
    const { admin } = world();
    const err = await ensureChangelogs(admin, ['ns.state.j.count'], 3, {
      replicationFactor: 2,
    }).catch((e: unknown) => e);
    expect(isSluiceError(err, 'SLUICE_CONFIG_INVALID')).toBe(true);
    expect((err as Error).message).toMatch(
      /ns\.state\.j\.count with replication factor 2: the cluster has 1 broker up/,
    );
  });
});
