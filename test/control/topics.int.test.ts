import { describe, expect, it } from 'vitest';
import { topicNames } from '../../src/domain/resources.js';
import { ensureTopics } from '../../src/log/topics.js';
import { isSluiceError } from '../../src/domain/errors.js';
import { withAdmin } from '../../src/kafka/offsets.js';
import type { Admin } from '../../src/kafka/port.js';
import { kafkaPort, testNamespace, useTopics } from '../support/kafka.js';

/** Runs `fn` with an admin of Sluice's port on the test broker. */
const asSluice = <T>(fn: (admin: Admin) => Promise<T>): Promise<T> => withAdmin(kafkaPort(), fn);

describe('namespace topics', () => {
  it('are created with the right settings when missing', async () => {
    const ns = testNamespace('topics');
    const admin = await useTopics(ns, []);
    const t = topicNames(ns);
    await asSluice((a) => ensureTopics(a, t, { jobsPartitions: 4 }));
    const meta = await admin.fetchTopicMetadata({ topics: [t.control, t.jobs] });
    expect(meta.topics.find((x) => x.name === t.control)?.partitions).toHaveLength(1);
    expect(meta.topics.find((x) => x.name === t.jobs)?.partitions).toHaveLength(4);
    // A second call finds them and changes nothing.
    await asSluice((a) => ensureTopics(a, t, { jobsPartitions: 4 }));
  });

  it('refuses a control topic with several partitions, saying why and what to do', async () => {
    const ns = testNamespace('topics');
    const t = topicNames(ns);
    await useTopics(ns, [{ topic: t.control, numPartitions: 3 }]);
    const err = await asSluice((a) => ensureTopics(a, t)).catch((e: unknown) => e);
    expect(isSluiceError(err, 'SLUICE_TOPIC_MISCONFIGURED')).toBe(true);
    expect((err as Error).message).toMatch(/has 3 partitions; Sluice needs exactly 1/);
  });

  it('refuses a job log that is not compacted', async () => {
    const ns = testNamespace('topics');
    const t = topicNames(ns);
    await useTopics(ns, [
      {
        topic: t.jobs,
        numPartitions: 3,
        configEntries: [{ name: 'cleanup.policy', value: 'delete' }],
      },
    ]);
    const err = await asSluice((a) => ensureTopics(a, t)).catch((e: unknown) => e);
    expect(isSluiceError(err, 'SLUICE_TOPIC_MISCONFIGURED')).toBe(true);
    expect((err as Error).message).toMatch(/cleanup.policy=delete/);
  });

  it('rejects a namespace that would make bad topic names', () => {
    expect(() => topicNames('a.b')).toThrow(/no dots/);
    expect(() => topicNames('')).toThrow(/Namespace/);
  });
});
