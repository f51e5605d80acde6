import type { Clock } from '../domain/clock.js';
import { sumCounts, type ErrorCounts } from '../domain/error-counts.js';
import type { ProducedRecord, TopicRecords } from '../kafka/port.js';
import type { HandledError } from './policy.js';

// What a chunk's commit needs beyond its outputs when the job's error policy acted on it.

/** Dead letters grouped by topic, as a commit sends them. */
export function byTopic(deadLetters: { topic: string; record: ProducedRecord }[]): TopicRecords[] {
  const by = new Map<string, ProducedRecord[]>();
  for (const d of deadLetters) {
    const list = by.get(d.topic) ?? [];
    list.push(d.record);
    by.set(d.topic, list);
  }
  return [...by].map(([topic, messages]) => ({ topic, messages }));
}

/** A task's counts once a chunk that let `handled` past commits. */
export function countsAfter(counts: ErrorCounts, handled: readonly HandledError[]): ErrorCounts {
  if (handled.length === 0) return counts;
  return sumCounts([
    counts,
    handled.map((h) => ({
      stage: h.stage,
      skipped: h.action === 'SKIP' ? 1 : 0,
      deadLettered: h.action === 'DEAD_LETTER' ? 1 : 0,
    })),
  ]);
}

/**
 * Waits out a retry's backoff in steps of at most a second, heartbeating between them, so a
 * long backoff does not cost the worker its place in the group; cut short once `stopped()`.
 */
export async function pauseBeating(
  clock: Clock,
  ms: number,
  heartbeat: () => Promise<void>,
  stopped: () => boolean,
): Promise<void> {
  const until = clock.now() + ms;
  for (let left = ms; left > 0 && !stopped(); left = until - clock.now()) {
    await clock.sleep(Math.min(left, 1_000));
    await heartbeat();
  }
}
