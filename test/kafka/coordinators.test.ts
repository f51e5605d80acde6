import { describe, expect, it } from 'vitest';
import { cachingCoordinators, COORDINATOR_TTL_MS } from '../../src/kafka/kafkajs/coordinators.js';

// The coordinator cache patched into Sluice's kafkajs Cluster (src/kafka/kafkajs/coordinators.ts),
// on a stand-in class counting the lookups it would send as FindCoordinator requests.

function cluster(now: () => number) {
  class FakeCluster {
    lookups: string[] = [];
    failNext = false;
    findGroupCoordinatorMetadata({ groupId }: { groupId: string; coordinatorType?: number }) {
      this.lookups.push(groupId);
      if (this.failNext) {
        this.failNext = false;
        return Promise.reject(new Error('GROUP_COORDINATOR_NOT_AVAILABLE'));
      }
      return Promise.resolve({ coordinator: { nodeId: 1 }, groupId });
    }
    refreshMetadata() {
      return Promise.resolve();
    }
  }
  cachingCoordinators(FakeCluster as never, now);
  return FakeCluster;
}

describe("Sluice's kafkajs Cluster reuses coordinators", () => {
  it('asks once per coordinator within the time-to-live, then again', async () => {
    let t = 0;
    const c = new (cluster(() => t))();
    for (let i = 0; i < 5; i++)
      await c.findGroupCoordinatorMetadata({ groupId: 'tx-1', coordinatorType: 1 });
    await c.findGroupCoordinatorMetadata({ groupId: 'group-a' });
    expect(c.lookups).toEqual(['tx-1', 'group-a']);
    t += COORDINATOR_TTL_MS;
    await c.findGroupCoordinatorMetadata({ groupId: 'tx-1', coordinatorType: 1 });
    expect(c.lookups).toEqual(['tx-1', 'group-a', 'tx-1']);
  });

  it('forgets every coordinator on a metadata refresh, and never keeps a failed lookup', async () => {
    const Cluster = cluster(() => 0);
    const c = new Cluster();
    await c.findGroupCoordinatorMetadata({ groupId: 'tx-1' });
    await c.refreshMetadata();
    await c.findGroupCoordinatorMetadata({ groupId: 'tx-1' });
    expect(c.lookups).toHaveLength(2);
    c.failNext = true;
    await c.refreshMetadata();
    await expect(c.findGroupCoordinatorMetadata({ groupId: 'tx-1' })).rejects.toThrow();
    await c.findGroupCoordinatorMetadata({ groupId: 'tx-1' });
    expect(c.lookups).toHaveLength(4);
    // Another cluster (another producer) has a cache of its own.
    const other = new Cluster();
    await other.findGroupCoordinatorMetadata({ groupId: 'tx-1' });
    expect(other.lookups).toEqual(['tx-1']);
  });
});

describe("Sluice's kafkajs Cluster says why a coordinator lookup was refused", () => {
  function refusing(answer: Error) {
    class FakeCluster {
      brokerPool = {
        findConnectedBroker: () =>
          Promise.resolve({ findGroupCoordinator: () => Promise.reject(answer) }),
      };
      findGroupCoordinatorMetadata(_lookup: { groupId: string }) {
        // kafkajs drops each broker's answer and throws this.
        const err = new Error('Failed to find group coordinator');
        err.name = 'KafkaJSGroupCoordinatorNotFound';
        return Promise.reject(err);
      }
      refreshMetadata() {
        return Promise.resolve();
      }
    }
    cachingCoordinators(FakeCluster as never, () => 0);
    return new FakeCluster();
  }

  it("rethrows the broker's authorization refusal instead of a coordinator not found", async () => {
    const denied = Object.assign(new Error('Group authorization failed'), {
      type: 'GROUP_AUTHORIZATION_FAILED',
    });
    await expect(refusing(denied).findGroupCoordinatorMetadata({ groupId: 'g' })).rejects.toBe(
      denied,
    );
  });

  it("keeps kafkajs's error when the broker answers anything else", async () => {
    const other = Object.assign(new Error('not available'), {
      type: 'COORDINATOR_NOT_AVAILABLE',
    });
    await expect(
      refusing(other).findGroupCoordinatorMetadata({ groupId: 'g' }),
    ).rejects.toMatchObject({
      name: 'KafkaJSGroupCoordinatorNotFound',
    });
  });
});
