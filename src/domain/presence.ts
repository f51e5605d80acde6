/**
 * Which workers are alive and what code they run: each worker writes a presence record to the
 * compacted topic `<ns>.workers`, keyed by its worker id, when it starts and every
 * {@link PRESENCE_INTERVAL_MS}, and a tombstone when it stops cleanly. A reader folds the topic
 * into a {@link PresenceTable} and asks which workers are live at its own time. Pure: the clock
 * and the records come in as values.
 */
import { z } from 'zod';
import { PRESENCE_INTERVAL_MS } from './settings.js';

/** The version of the presence record this code writes and reads. */
export const PRESENCE_VERSION = 1;

/**
 * How long a worker counts as live after its last record: three intervals, so one or two
 * refreshes lost to a slow broker do not make a live worker look gone. A worker that crashed
 * counts as live this long after its last refresh.
 */
export const PRESENCE_LIVE_MS = 3 * PRESENCE_INTERVAL_MS;

/** One worker's presence, the value of its record on `<ns>.workers` (JSON). */
export interface WorkerPresence {
  v: typeof PRESENCE_VERSION;
  workerId: string;
  /** The fingerprint of each hosted pipeline's code, by pipeline name. */
  pipelines: Record<string, string>;
  /** Epoch milliseconds, by the worker's clock. */
  startedAt: number;
  /** When the worker wrote this record: epoch milliseconds, by the worker's clock. */
  seenAt: number;
}

const presenceSchema = z.object({
  v: z.literal(PRESENCE_VERSION),
  workerId: z.string().min(1),
  pipelines: z.record(z.string(), z.string()),
  startedAt: z.number().int().nonnegative(),
  seenAt: z.number().int().nonnegative(),
});

/** The record's value. */
export function encodePresence(p: WorkerPresence): string {
  return JSON.stringify(p);
}

/**
 * A record's value as presence, or undefined when it is not one this version reads (garbage, or
 * a newer version's record: its fields may mean something else).
 */
export function decodePresence(text: string): WorkerPresence | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = presenceSchema.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}

/** The latest readable presence of each worker, by worker id. */
export type PresenceTable = Map<string, WorkerPresence>;

/**
 * Folds one record of `<ns>.workers` into the table, in offset order. A tombstone (a clean stop)
 * removes the worker. So does a record this version cannot read, or one whose key is not its
 * worker id: the latest record replaces every earlier one, and what it says is unknown here.
 */
export function foldPresence(table: PresenceTable, key: string, value: string | null): void {
  const p = value === null ? undefined : decodePresence(value);
  if (p === undefined || p.workerId !== key) table.delete(key);
  else table.set(key, p);
}

/**
 * The workers live at `now` (the reader's clock), by worker id: each wrote its last record at
 * most {@link PRESENCE_LIVE_MS} before. A record from the reader's future (clocks a little
 * apart) is live.
 */
export function liveWorkers(table: PresenceTable, now: number): WorkerPresence[] {
  return [...table.values()]
    .filter((p) => p.seenAt >= now - PRESENCE_LIVE_MS)
    .sort((a, b) => a.workerId.localeCompare(b.workerId));
}

/** A live worker hosting a pipeline, and the fingerprint of the code it runs for it. */
export interface PipelineHost {
  workerId: string;
  fingerprint: string;
  seenAt: number;
}

/** The live workers hosting `pipeline`, by worker id. */
export function hostsOf(live: readonly WorkerPresence[], pipeline: string): PipelineHost[] {
  return live.flatMap((p) => {
    const fingerprint = p.pipelines[pipeline];
    return fingerprint === undefined
      ? []
      : [{ workerId: p.workerId, fingerprint, seenAt: p.seenAt }];
  });
}
