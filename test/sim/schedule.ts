import { between, chance, mulberry32, pick, type Random } from './random.js';

/** A simulated process slot: its incarnations get client names `w0`, `w0.1`, `w0.2`, ... */
export interface Slot {
  role: 'worker' | 'coordinator';
  index: number;
}

/** One batch of input records, produced at `at` ms of virtual time. */
export interface InputBatch {
  at: number;
  records: { key: string; v: number; poison?: true }[];
}

/**
 * A record the workers' code fails on until a fix is deployed: the job is suspended due to the
 * error, and the user resumes it (retrying the record) `fixAfterMs` after seeing that.
 */
export interface Poison {
  batch: number;
  index: number;
  fixAfterMs: number;
}

/** Which calls an injected commit error hits, and how. */
export interface CommitFault {
  op: 'commit' | 'send' | 'sendOffsets' | 'init';
  /** Whose transactions: a worker's tasks, or the coordinator's appends. */
  target: Slot;
  /** `transient`: a retriable protocol error; `fenced`: PRODUCER_FENCED. */
  error: 'transient' | 'fenced';
  /** `after`: the call took effect and its answer was lost. */
  when: 'before' | 'after';
  times: number;
}

/** What happens at one instant of a schedule. */
export type Action =
  | { kind: 'crash'; slot: Slot; restartAfterMs: number }
  | { kind: 'stall'; slot: Slot; forMs: number }
  | { kind: 'fail'; fault: CommitFault }
  | { kind: 'suspend'; resumeAfterMs: number };

/** An action and when it happens. */
export interface Step {
  at: number;
  action: Action;
}

/** Everything a seed decides. */
export interface Schedule {
  seed: number;
  workers: number;
  coordinators: number;
  /** Source partitions; the repartition topic gets as many. */
  partitions: number;
  /** The coordinators' session timeout. */
  coordinatorSessionMs: number;
  /** Virtual time each request takes. */
  latencyMs: number;
  keys: string[];
  inputs: InputBatch[];
  steps: Step[];
  poison: Poison | undefined;
}

/** How many inputs a schedule produces. */
export function inputCount(s: Schedule): number {
  return s.inputs.reduce((n, b) => n + b.records.length, 0);
}

/** When the job is submitted: after the processes had a moment to start. */
export const SUBMIT_AT_MS = 500;

/** Faults fall in this window of virtual time; input goes on a little past it. */
const FAULT_WINDOW_MS: [number, number] = [1_500, 30_000];

/** A seed's schedule: the same seed, the same schedule. */
export function makeSchedule(seed: number): Schedule {
  const random = mulberry32(seed);
  const workers = between(random, 2, 3);
  const coordinators = between(random, 1, 2);
  const keys = Array.from({ length: between(random, 3, 8) }, (_, i) => `k${i}`);
  const inputs = makeInputs(random, keys);
  const schedule: Schedule = {
    seed,
    workers,
    coordinators,
    partitions: between(random, 2, 3),
    coordinatorSessionMs: pick(random, [6_000, 8_000, 10_000]),
    latencyMs: pick(random, [0, 1, 2, 3]),
    keys,
    inputs,
    steps: makeSteps(random, workers, coordinators, inputs),
    poison: undefined,
  };
  // A poisoned record, unless a user suspends the job anyway: one suspension per schedule keeps
  // the commands' expected outcomes simple.
  if (chance(random, 0.3) && !schedule.steps.some((s) => s.action.kind === 'suspend')) {
    const batch = between(random, 0, schedule.inputs.length - 1);
    const records = schedule.inputs[batch]?.records ?? [];
    const index = between(random, 0, records.length - 1);
    const record = records[index];
    if (record) record.poison = true;
    schedule.poison = { batch, index, fixAfterMs: between(random, 500, 8_000) };
  }
  return schedule;
}

function makeInputs(random: Random, keys: string[]): InputBatch[] {
  const batches: InputBatch[] = [];
  const total = between(random, 100, 300);
  let at = between(random, 0, 2_000);
  for (let left = total; left > 0;) {
    const size = Math.min(left, between(random, 10, 60));
    // Values from 1 to 1,000: increments of the running sums identify the inputs well enough.
    const records = Array.from({ length: size }, () => ({
      key: pick(random, keys),
      v: between(random, 1, 1_000),
    }));
    batches.push({ at, records });
    left -= size;
    at += between(random, 200, 4_000);
  }
  return batches;
}

function makeSteps(
  random: Random,
  workers: number,
  coordinators: number,
  inputs: InputBatch[],
): Step[] {
  const steps: Step[] = [];
  // Half the crashes and stalls come a few ms after a batch of input arrives, while the
  // workers are inside their transactions: a process killed or frozen mid-commit is what
  // fencing is for, and a random instant would rarely catch one.
  const when = (): number =>
    chance(random, 0.5)
      ? pick(random, inputs).at + between(random, 1, 15)
      : between(random, ...FAULT_WINDOW_MS);
  const slot = (): Slot =>
    chance(random, 0.65) || coordinators === 0
      ? { role: 'worker', index: between(random, 0, workers - 1) }
      : { role: 'coordinator', index: between(random, 0, coordinators - 1) };
  const count = between(random, 1, 6);
  for (let i = 0; i < count; i++) {
    const roll = random();
    const at = roll < 0.6 ? when() : between(random, ...FAULT_WINDOW_MS);
    if (roll < 0.35) {
      steps.push({
        at,
        action: { kind: 'crash', slot: slot(), restartAfterMs: between(random, 200, 15_000) },
      });
    } else if (roll < 0.6) {
      // Sometimes past the session timeout: the process comes back as a zombie.
      const forMs = chance(random, 0.5)
        ? between(random, 200, 5_000)
        : between(random, 11_000, 25_000);
      steps.push({ at, action: { kind: 'stall', slot: slot(), forMs } });
    } else if (roll < 0.92) {
      const op = pick(random, ['commit', 'commit', 'send', 'sendOffsets', 'init'] as const);
      const fault: CommitFault = {
        op,
        target: slot(),
        // Only a transaction's own calls are answered "fenced": init() is what fences, and
        // `send` covers the plain producers' sends (reports, commands) too.
        error: chance(random, 0.7) || op === 'init' || op === 'send' ? 'transient' : 'fenced',
        when: chance(random, 0.5) ? 'before' : 'after',
        times: between(random, 1, 3),
      };
      steps.push({ at, action: { kind: 'fail', fault } });
    } else {
      steps.push({
        at,
        action: { kind: 'suspend', resumeAfterMs: between(random, 1_000, 10_000) },
      });
    }
  }
  // A suspension is a user's: at most one per schedule keeps the expected status simple.
  let suspends = 0;
  return steps
    .filter((s) => s.action.kind !== 'suspend' || suspends++ === 0)
    .sort((a, b) => a.at - b.at);
}

/** A line per step, for the replay's trace. */
export function describeSchedule(s: Schedule): string[] {
  const lines = [
    `seed ${s.seed}: ${s.workers} workers, ${s.coordinators} coordinators, ${s.partitions} partitions, ` +
      `${inputCount(s)} inputs in ${s.inputs.length} batches over ${s.keys.length} keys, ` +
      `coordinator session ${s.coordinatorSessionMs} ms, latency ${s.latencyMs} ms`,
  ];
  for (const { at, action } of s.steps) lines.push(`  at ${at} ms: ${describeAction(action)}`);
  if (s.poison) {
    const { batch, index, fixAfterMs } = s.poison;
    const at = s.inputs[batch]?.at ?? 0;
    lines.push(
      `  at ${at} ms: input ${index} of that batch is poison: the code fails on it until fixed, ` +
        `${fixAfterMs} ms after the job is suspended; then the user resumes it`,
    );
  }
  return lines;
}

export function slotName(slot: Slot): string {
  return `${slot.role === 'worker' ? 'w' : 'c'}${slot.index}`;
}

function describeAction(a: Action): string {
  switch (a.kind) {
    case 'crash':
      return `crash ${slotName(a.slot)}, restart ${a.restartAfterMs} ms later`;
    case 'stall':
      return `stall ${slotName(a.slot)} for ${a.forMs} ms`;
    case 'fail': {
      const f = a.fault;
      return `fail the next ${f.times} ${f.op} of ${slotName(f.target)} with ${f.error} (${f.when})`;
    }
    case 'suspend':
      return `suspend the job, resume ${a.resumeAfterMs} ms later`;
  }
}
