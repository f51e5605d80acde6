import { emptyCluster, fold } from '../../src/domain/cluster.js';
import type { JobEvent } from '../../src/domain/events.js';
import { repartitionTopic, stageGroup, topicNames } from '../../src/domain/resources.js';
import type { JobStatus } from '../../src/domain/status.js';
import type { MemoryCluster } from '../../src/kafka/memory/index.js';
import { EVENTS, NAMESPACE, SINK, SOURCE, type Input } from './system.js';

/** What the world holds once settled, as the invariants read it. */
export interface Observed {
  /** Inputs produced, in production order. */
  inputs: Input[];
  /** Committed sink records, read_committed, by partition then offset. */
  outputs: { partition: number; key: string | null; value: unknown }[];
  /** The job log's events, read_committed, by partition then offset. */
  events: JobEvent[];
}

/** Reads what the invariants need from the cluster. */
export async function observe(cluster: MemoryCluster, inputs: Input[]): Promise<Observed> {
  const events: JobEvent[] = [];
  for (const r of cluster.read(topicNames(NAMESPACE).jobs, { isolation: 'read_committed' }))
    if (r.value !== null) events.push(await EVENTS.decode(r.value));
  const outputs = cluster.read(SINK, { isolation: 'read_committed' }).map((r) => ({
    partition: r.partition,
    key: r.key?.toString() ?? null,
    value: r.value === null ? null : (JSON.parse(r.value.toString()) as unknown),
  }));
  return { inputs, outputs, events };
}

/**
 * Invariant 1, every input counted once in state and output: per key, the committed outputs
 * are the key's running sum, each one the one before plus exactly one of the key's inputs, each
 * input used once; so the last output is the sum, there are as many outputs as inputs, and
 * nothing appears for a key never produced.
 */
export function checkOutputs(o: Observed): string[] {
  const problems: string[] = [];
  const expected = new Map<string, number[]>();
  for (const { key, v } of o.inputs) expected.set(key, [...(expected.get(key) ?? []), v]);
  const seen = new Map<string, number[]>();
  for (const out of o.outputs) {
    const value = out.value as { key?: unknown; value?: unknown } | null;
    const key = typeof value?.key === 'string' ? value.key : undefined;
    if (key === undefined || typeof value?.value !== 'number' || key !== out.key) {
      problems.push(`malformed output ${JSON.stringify(out)}`);
      continue;
    }
    seen.set(key, [...(seen.get(key) ?? []), value.value]);
  }
  if (o.outputs.length !== o.inputs.length)
    problems.push(`${o.outputs.length} committed outputs for ${o.inputs.length} inputs`);
  for (const [key, sums] of seen) {
    const inputs = expected.get(key);
    if (!inputs) {
      problems.push(`outputs for key ${key}, never produced`);
      continue;
    }
    // The increments, matched against the key's inputs as a multiset.
    const left = new Map<number, number>();
    for (const v of inputs) left.set(v, (left.get(v) ?? 0) + 1);
    let previous = 0;
    for (const [i, sum] of sums.entries()) {
      const step = sum - previous;
      const n = left.get(step) ?? 0;
      if (n === 0) {
        problems.push(
          `key ${key}: output ${i} is ${sum} after ${previous}, +${step} is no unused input`,
        );
        break;
      }
      left.set(step, n - 1);
      previous = sum;
    }
  }
  for (const [key, inputs] of expected) {
    const sum = inputs.reduce((a, b) => a + b, 0);
    const last = seen.get(key)?.at(-1);
    if (last !== sum)
      problems.push(`key ${key}: last output ${String(last)}, inputs sum to ${sum}`);
  }
  return problems;
}

/**
 * Invariant 2, each command one outcome: per job, seqs run 0, 1, 2, ... in log order without
 * a repeat or a gap; a command's events are one run of consecutive seqs of one job (one
 * transaction), and a rejected command has exactly one event, its `CommandRejected`; every
 * command the user sent (`sent`) has its outcome.
 */
export function checkLog(events: JobEvent[], sent: readonly string[] = []): string[] {
  const problems: string[] = [];
  const answered = new Set(events.map((e) => e.commandId));
  for (const id of sent) if (!answered.has(id)) problems.push(`command ${id} has no outcome`);
  const nextSeq = new Map<string, number>();
  const lastOf = new Map<string, { jobId: string; seq: number; rejected: boolean }>();
  for (const e of events) {
    const expected = nextSeq.get(e.jobId) ?? 0;
    if (e.seq !== expected)
      problems.push(`job ${e.jobId}: seq ${e.seq} (${e.type}) where ${expected} was next`);
    nextSeq.set(e.jobId, Math.max(expected, e.seq + 1));
    const rejected = e.type === 'CommandRejected';
    const before = lastOf.get(e.commandId);
    if (before) {
      const contiguous = before.jobId === e.jobId && before.seq + 1 === e.seq;
      if (!contiguous || before.rejected || rejected)
        problems.push(
          `command ${e.commandId} has a second outcome: ${e.type} at seq ${e.seq} after seq ${before.seq}`,
        );
    }
    lastOf.set(e.commandId, { jobId: e.jobId, seq: e.seq, rejected });
  }
  return problems;
}

/** The final status of every job, folded with Sluice's own reducer. */
export function finalStatuses(events: JobEvent[]): Map<string, JobStatus> {
  const cluster = emptyCluster();
  for (const e of events) fold(cluster, e);
  return new Map([...cluster.jobs].map(([id, s]) => [id, s.status]));
}

/** The job's final status is the one the schedule implies. */
export function checkStatus(events: JobEvent[], expected: JobStatus): string[] {
  const statuses = [...finalStatuses(events)];
  if (statuses.length !== 1) return [`${statuses.length} jobs in the log, not 1`];
  const [[jobId, status] = ['', '']] = statuses;
  return status === expected ? [] : [`job ${jobId} is ${status}, expected ${expected}`];
}

/** Where a job failed: the failing record's source partition and offset. */
export interface Failing {
  jobId: string;
  partition: number;
  offset: string;
}

/**
 * Invariant 3, a failure snapshot is complete: once a job is suspended due to an error, every
 * record of the failing source partition before the failing one went through both hops. The
 * later hop's group has committed every repartition record those records made (their origin
 * header names them), so a resume starts exactly at the failing record. Checked when the
 * suspension is read: the coordinator fenced the job's tasks before appending it.
 */
export function checkFailureSnapshot(cluster: MemoryCluster, f: Failing): string[] {
  const topic = repartitionTopic(NAMESPACE, f.jobId, 'sums');
  const committed = new Map(
    cluster
      .committed(stageGroup(NAMESPACE, f.jobId, 'sums'))
      .filter((o) => o.topic === topic)
      .map((o) => [o.partition, BigInt(o.offset)]),
  );
  const missed = cluster.read(topic).filter((r) => {
    const header = r.headers['sluice-origin'];
    const origin = header === undefined ? undefined : (JSON.parse(String(header)) as Origin);
    if (origin?.topic !== SOURCE || origin.partition !== f.partition) return false;
    if (BigInt(origin.offset) >= BigInt(f.offset)) return false;
    return BigInt(r.offset) >= (committed.get(r.partition) ?? 0n);
  });
  return missed.length === 0
    ? []
    : [
        `suspended at in/${f.partition}@${f.offset} with ${missed.length} earlier records not through the later hop ` +
          `(first: ${topic}/${missed[0]?.partition}@${missed[0]?.offset})`,
      ];
}

interface Origin {
  topic: string;
  partition: number;
  offset: string;
}
