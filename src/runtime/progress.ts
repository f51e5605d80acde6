import type { Clock } from '../domain/clock.js';
import { DRAIN_TIMEOUT_MS } from '../domain/settings.js';
import type { Logger } from '../observability/logger.js';
import { topicOffsets } from '../kafka/offsets.js';
import type { Admin, Kafka } from '../kafka/port.js';
import { committedOffsets } from '../kafka/positions.js';
import { splitTask, type Task } from './task.js';

// How far a hop fed by a repartition topic has got: the measures a failure's wait for later
// hops and a bounded job's completion check share.

/** A hop that reads a repartition topic, as the measures of its progress see it. */
export interface HopInput {
  /** The repartition topic. */
  topic: string;
  /** The hop's consumer group. */
  groupId: string;
  /** The hop's tasks on this worker: a task's own last commit may be newer than the group's. */
  tasks: ReadonlyMap<string, Task>;
  /** What this worker's hop before it committed to the topic (see Hop.written). */
  written: ReadonlyMap<string, bigint>;
  /** EXACTLY_ONCE: the topic's last offset is a commit marker no reader sees. */
  transactional: boolean;
}

/** The end of each non-empty partition of the input, read_committed, by `topic:partition`. */
export async function inputEnds(admin: Admin, input: HopInput): Promise<Map<string, bigint>> {
  const marker = input.transactional ? 1n : 0n;
  return new Map(
    (await topicOffsets(admin, input.topic))
      .filter((o) => o.high > o.low)
      .map((o) => [`${input.topic}:${o.partition}`, o.high - marker]),
  );
}

/**
 * True when `ends` pass the first offset of every batch this worker's hop before committed to
 * the input. A transaction whose commit has returned may still lack its markers for a moment:
 * right after commit() the read_committed end left the transaction out in 16 of 200 reads on an
 * idle broker. Ends taken then are too short and are measured again.
 */
export function includesWritten(input: HopInput, ends: Map<string, bigint>): boolean {
  return [...input.written].every(([id, first]) => (ends.get(id) ?? -1n) >= first);
}

/** The topics of `topic:partition` keys. */
export function topicsOf(ids: Map<string, unknown>): string[] {
  return [...new Set([...ids.keys()].map((id) => splitTask(id)[0]))];
}

/**
 * The first partition of `ends` that the group has not committed up to its end, or undefined
 * when none is short. A task of this worker (`tasks`) counts with its own last commit when that
 * is newer than what the group coordinator returned.
 */
export function shortOf(
  ends: Map<string, bigint>,
  stored: Map<string, string>,
  tasks?: ReadonlyMap<string, Task>,
): { id: string; committed: bigint | undefined; end: bigint } | undefined {
  for (const [id, end] of ends) {
    const known = [tasks?.get(id)?.committed, stored.get(id)].flatMap((o) =>
      o === undefined ? [] : [BigInt(o)],
    );
    const committed = known.length > 0 ? known.reduce((a, b) => (b > a ? b : a)) : undefined;
    if (committed === undefined || committed < end) return { id, committed, end };
  }
  return undefined;
}

/**
 * Waits until the hop's consumer group has committed its input up to the input's current end,
 * every partition of it; false when `timeoutMs` passes first. Not only this worker's tasks: a
 * partition not assigned here yet (the hop still joining, as it may be when a failure comes
 * seconds after the start) or owned by another worker, which goes on until it reads the event,
 * counts too. Treating those as done, or taking the end before it included the failing hop's
 * last commit, let a job be suspended with outputs of the records before the failing one
 * missing (under CI load, all of them).
 */
export async function drain(
  kafka: Kafka,
  input: HopInput,
  o: {
    timeoutMs: number;
    clock: Clock;
    /**
     * Called between measures: the failing hop's batch awaits the drain, and its consumer must
     * stay in its group meanwhile (a heartbeat refused during a rebalance is let pass).
     */
    heartbeat: () => Promise<void>;
  },
): Promise<boolean> {
  const { clock } = o;
  const deadline = clock.now() + o.timeoutMs;
  const wait = async (ms: number): Promise<void> => {
    await clock.sleep(ms);
    await o.heartbeat().catch(() => undefined);
  };
  const admin = kafka.admin();
  await admin.connect();
  try {
    let ends = await inputEnds(admin, input);
    while (!includesWritten(input, ends)) {
      if (clock.now() > deadline) return false;
      await wait(50);
      ends = await inputEnds(admin, input);
    }
    const topics = topicsOf(ends);
    for (;;) {
      const stored = await committedOffsets(admin, input.groupId, topics);
      if (shortOf(ends, stored, input.tasks) === undefined) return true;
      if (clock.now() > deadline) return false;
      await wait(100);
    }
  } finally {
    await admin.disconnect();
  }
}

/**
 * Freezes each of `later` (the hops after a failing one) once it has processed its input to the
 * end, or after DRAIN_TIMEOUT_MS: what the failing hop committed before the record reaches the
 * sink before the job is frozen; past the timeout, a resume reprocesses the rest.
 */
export async function drainThenFreeze(
  kafka: Kafka,
  later: { index: number; hop: { freeze(): void }; input: HopInput | undefined }[],
  o: { clock: Clock; heartbeat: () => Promise<void>; log: Logger },
): Promise<void> {
  for (const { index, hop, input } of later) {
    const drained = input
      ? await drain(kafka, input, { timeoutMs: DRAIN_TIMEOUT_MS, ...o }).catch(() => false)
      : true;
    if (!drained)
      o.log.warn(
        { hop: index },
        'a later hop did not finish its input in time; a resume reprocesses the rest',
      );
    hop.freeze();
  }
}
