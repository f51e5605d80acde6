import { describe, expect, it } from 'vitest';
import { isSluiceError } from '../../src/domain/errors.js';
import { topicNames } from '../../src/domain/resources.js';
import { MemoryCluster, VirtualClock } from '../../src/kafka/memory/index.js';
import type { NewTopic } from '../../src/kafka/port.js';
import { ensureTopics } from '../../src/log/topics.js';
import { recordingAdmin } from '../support/recording-admin.js';

// The namespace's topics (src/log/topics.ts) created with the replication settings, or none.

function world() {
  const cluster = new MemoryCluster({ clock: new VirtualClock() });
  const requests: NewTopic[][] = [];
  return { cluster, requests, admin: recordingAdmin(cluster.client('a').admin(), requests) };
}

const topics = topicNames('ns');

describe('ensureTopics', () => {
  it('creates the control and jobs topics without replication settings unless given', async () => {
    const { admin, requests } = world();
    await ensureTopics(admin, topics);
    expect(requests).toHaveLength(1);
    for (const t of requests[0] ?? []) {
      expect(t).not.toHaveProperty('replicationFactor');
      expect(t.config ?? {}).not.toHaveProperty('min.insync.replicas');
    }
  });

  it('creates both with the replication given, the job log still compacted', async () => {
    const { admin, requests } = world();
    await ensureTopics(admin, topics, {
      jobsPartitions: 2,
      replication: { replicationFactor: 1, minInsyncReplicas: 1 },
    });
    const [control, jobs] = requests[0] ?? [];
    expect(control).toEqual({
      topic: topics.control,
      partitions: 1,
      replicationFactor: 1,
      config: { 'min.insync.replicas': '1' },
    });
    expect(jobs).toMatchObject({
      topic: topics.jobs,
      partitions: 2,
      replicationFactor: 1,
      config: { 'cleanup.policy': 'compact', 'min.insync.replicas': '1' },
    });
  });

  it('creates the compacted presence topic <ns>.workers, one partition, old records deleted after a day', async () => {
    const { admin, requests } = world();
    await ensureTopics(admin, topics, { replication: { replicationFactor: 1 } });
    expect(requests[0]?.find((t) => t.topic === topics.workers)).toEqual({
      topic: 'ns.workers',
      partitions: 1,
      replicationFactor: 1,
      config: {
        'cleanup.policy': 'compact,delete',
        'retention.ms': '86400000',
        'segment.ms': '3600000',
      },
    });
  });

  it('adds <ns>.workers, <ns>.checkpoint and <ns>.reports to a namespace made before them, leaving the other two as they are', async () => {
    const { cluster, admin, requests } = world();
    cluster.createTopic(topics.control, 1);
    cluster.createTopic(topics.jobs, 3, { 'cleanup.policy': 'compact' });
    await ensureTopics(admin, topics);
    expect(requests.map((r) => r.map((t) => t.topic))).toEqual([
      ['ns.workers', 'ns.checkpoint', 'ns.reports'],
    ]);
    // Partitioned like the job log as it is, compacted.
    expect(requests[0]?.[1]).toMatchObject({
      partitions: 3,
      config: { 'cleanup.policy': 'compact' },
    });
  });

  it('creates nothing, and so sends no settings, when both exist', async () => {
    const { admin, requests } = world();
    await ensureTopics(admin, topics);
    await ensureTopics(admin, topics, { replication: { replicationFactor: 3 } });
    expect(requests).toHaveLength(1);
  });

  it('refuses more replicas than the cluster has brokers, naming the topics and both numbers', async () => {
    const { admin } = world();
    const err = await ensureTopics(admin, topics, { replication: { replicationFactor: 3 } }).catch(
      (e: unknown) => e,
    );
    expect(isSluiceError(err, 'SLUICE_CONFIG_INVALID')).toBe(true);
    expect((err as Error).message).toContain(`${topics.control}, ${topics.jobs}`);
    expect((err as Error).message).toMatch(/replication factor 3: the cluster has 1 broker up/);
  });
});
