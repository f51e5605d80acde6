/** Tells which Cluster class caches coordinators, whichever copy of this module made it. */
export const COORDINATOR_CACHE_MARK = Symbol.for('sluice.coordinatorCache');

/**
 * How long a coordinator found is reused. Long beside a commit (tens of milliseconds), short
 * beside a retry budget: a coordinator that moved answers NOT_COORDINATOR, the commit fails and
 * is retried, and within this time the next lookup asks the cluster again.
 */
export const COORDINATOR_TTL_MS = 1_000;

interface Lookup {
  groupId: string;
  coordinatorType?: number;
}

interface ClusterLike {
  findGroupCoordinatorMetadata(lookup: Lookup): Promise<unknown>;
  refreshMetadata(...args: unknown[]): Promise<unknown>;
  brokerPool: {
    findConnectedBroker(): Promise<{ findGroupCoordinator(lookup: Lookup): Promise<unknown> }>;
  };
}

type ClusterClass = { prototype: ClusterLike } & Record<symbol, unknown>;

/**
 * kafkajs 2.2.4's Cluster, reusing the coordinators it found. Its transactional producer asks
 * the cluster for the transaction coordinator before each AddPartitionsToTxn, AddOffsetsToTxn
 * and EndTxn, and for the group coordinator before each TxnOffsetCommit: four FindCoordinator
 * round trips in every exactly-once commit, each answered with the same broker. Java's clients
 * keep a coordinator until a request to it fails; kafkajs's transactional calls do not tell the
 * cluster when one fails, so an entry lasts {@link COORDINATOR_TTL_MS} at most, and every
 * metadata refresh (which kafkajs makes after connection and broker errors) forgets them all.
 * Each producer, consumer and admin has a Cluster of its own, so a task reopened after a failed
 * commit starts with none. On a local broker a lookup costs well under a millisecond, and
 * `npm run bench:transactions` showed no difference (33.6 ms a transaction without, 34.4 and
 * 36.8 with); what it saves is four round trips per commit to a broker across a network.
 */
export function cachingCoordinators(
  Cluster: ClusterClass,
  now: () => number = Date.now,
): ClusterClass {
  const proto = Cluster.prototype;
  const find = proto.findGroupCoordinatorMetadata;
  const refresh = proto.refreshMetadata;
  type Cache = Map<string, { at: number; found: Promise<unknown> }>;
  const caches = new WeakMap<ClusterLike, Cache>();
  const cacheOf = (cluster: ClusterLike): Cache => {
    let cache = caches.get(cluster);
    if (!cache) caches.set(cluster, (cache = new Map() as Cache));
    return cache;
  };
  proto.findGroupCoordinatorMetadata = function (this: ClusterLike, lookup: Lookup) {
    const cache = cacheOf(this);
    const key = `${lookup.coordinatorType ?? 0}:${lookup.groupId}`;
    const hit = cache.get(key);
    if (hit && now() - hit.at < COORDINATOR_TTL_MS) return hit.found;
    const found = find.call(this, lookup).catch((err: unknown) => refusalOf(this, lookup, err));
    cache.set(key, { at: now(), found });
    // A failed lookup is not kept: the next call asks again.
    found.catch(() => {
      if (cache.get(key)?.found === found) cache.delete(key);
    });
    return found;
  };
  proto.refreshMetadata = function (this: ClusterLike, ...args: unknown[]) {
    cacheOf(this).clear();
    return refresh.apply(this, args);
  };
  Object.defineProperty(Cluster, COORDINATOR_CACHE_MARK, { value: true });
  return Cluster;
}

/**
 * kafkajs asks each broker for the coordinator and, when every one refuses, throws
 * KafkaJSGroupCoordinatorNotFound with the brokers' answers dropped. An authorizer's refusal
 * (GROUP_AUTHORIZATION_FAILED: no DESCRIBE on the group; TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
 * then looks like an outage, which Sluice retries for ever. Asked once more, a broker's own
 * answer says which it was; any other failure is rethrown as kafkajs threw it.
 */
async function refusalOf(cluster: ClusterLike, lookup: Lookup, err: unknown): Promise<never> {
  if ((err as { name?: unknown } | null)?.name !== 'KafkaJSGroupCoordinatorNotFound') throw err;
  let answer: unknown;
  try {
    await (await cluster.brokerPool.findConnectedBroker()).findGroupCoordinator(lookup);
  } catch (e) {
    answer = e;
  }
  const type = (answer as { type?: unknown } | undefined)?.type;
  throw typeof type === 'string' && type.endsWith('_AUTHORIZATION_FAILED') ? answer : err;
}
