/** A group member as the assignor sees it. */
export interface Subscriber {
  id: string;
  topics: readonly string[];
}

/**
 * kafkajs's default `RoundRobinAssigner`, made deterministic: members sorted by id, the topics
 * any member subscribes to sorted by name, their partitions in order, dealt round-robin with
 * one running count (so a member of two topics gets an even share of both together). A member
 * is only dealt partitions of topics it subscribes to; unknown topics have no partitions.
 * Every member gets an entry, empty or not.
 */
export function assignRoundRobin(
  members: readonly Subscriber[],
  partitionsOf: (topic: string) => number | undefined,
): Map<string, Record<string, number[]>> {
  const sorted = [...members].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const shares = new Map<string, Record<string, number[]>>(sorted.map((m) => [m.id, {}]));
  const topics = [...new Set(sorted.flatMap((m) => m.topics))].sort();
  let turn = 0;
  for (const topic of topics) {
    const takers = sorted.filter((m) => m.topics.includes(topic));
    const count = partitionsOf(topic) ?? 0;
    for (let partition = 0; partition < count && takers.length > 0; partition++) {
      const member = takers[turn++ % takers.length];
      if (member === undefined) continue;
      const share = shares.get(member.id);
      if (share !== undefined) (share[topic] ??= []).push(partition);
    }
  }
  return shares;
}

/**
 * Every partition of every subscribed topic to the first member by id (Kafka's
 * `one-member` protocol in the kafkajs adapter, see kafkajs/one-member.ts); the others get an
 * empty share and stand by.
 */
export function assignToOne(
  members: readonly Subscriber[],
  partitionsOf: (topic: string) => number | undefined,
): Map<string, Record<string, number[]>> {
  const sorted = [...members].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const shares = new Map<string, Record<string, number[]>>(sorted.map((m) => [m.id, {}]));
  const first = sorted[0];
  if (first === undefined) return shares;
  const share: Record<string, number[]> = {};
  for (const topic of [...new Set(first.topics)].sort()) {
    const count = partitionsOf(topic) ?? 0;
    if (count > 0) share[topic] = Array.from({ length: count }, (_, p) => p);
  }
  shares.set(first.id, share);
  return shares;
}
