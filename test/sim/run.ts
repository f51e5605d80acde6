import { checkLog, checkOutputs, checkStatus, observe } from './invariants.js';
import { withSeededRandomness } from './random.js';
import { inputCount, makeSchedule, SUBMIT_AT_MS, type Schedule, type Step } from './schedule.js';
import { SINK, SOURCE, World, type Input } from './system.js';
import { User } from './user.js';

/** The longest a seed may take to settle once its schedule has played out, in virtual ms. */
const SETTLE_MAX_MS = 240_000;
/** Virtual time kept going once everything is committed, for zombies to try their luck. */
const ZOMBIE_WINDOW_MS = 10_000;

/** What one seed did. */
export interface SeedResult {
  seed: number;
  schedule: Schedule;
  /** Invariant violations; empty when the seed passed. */
  problems: string[];
  /** The schedule as it played out, and what the world noticed. */
  notes: string[];
  /** The in-memory cluster's trace: every operation. */
  trace: readonly string[];
  /** Virtual ms until every input was counted (or the limit). */
  settledAtMs: number;
}

/** How to run a seed. */
export interface RunOptions {
  /** Keep the cluster's trace of every operation (slower; for replays and the determinism test). */
  trace?: boolean;
}

/** Runs one seed's schedule against the whole system and checks the invariants. */
export function runSeed(seed: number, options: RunOptions = {}): Promise<SeedResult> {
  return withSeededRandomness(seed, () => play(makeSchedule(seed), options.trace ?? false));
}

async function play(schedule: Schedule, trace: boolean): Promise<SeedResult> {
  const world = new World(schedule, trace);
  const { clock } = world;
  for (let i = 0; i < schedule.coordinators; i++) world.boot({ role: 'coordinator', index: i });
  for (let i = 0; i < schedule.workers; i++) world.boot({ role: 'worker', index: i });
  const user = new User(world);
  const inputs: Input[] = [];
  const producer = world.cluster.client('source').producer();
  const connected = producer.connect();
  for (const batch of schedule.inputs)
    clock.after(batch.at, () => {
      inputs.push(...batch.records);
      const messages = batch.records.map((r) => ({ key: r.key, value: JSON.stringify(r) }));
      void connected.then(() => producer.send([{ topic: SOURCE, messages }]));
    });
  let pending = schedule.steps.length;
  for (const step of schedule.steps)
    clock.after(step.at, () => void perform(world, user, step).finally(() => pending--));
  clock.after(SUBMIT_AT_MS, () => void user.submit());

  const total = inputCount(schedule);
  const lastInput = schedule.inputs.at(-1)?.at ?? 0;
  const done = (): boolean =>
    pending === 0 && inputs.length === total && user.idle && committedOutputs(world) >= total;
  await clock.advance(lastInput);
  await clock.runUntil(done, SETTLE_MAX_MS);
  const settledAtMs = world.elapsed;
  world.note(done() ? 'settled' : 'did not settle in time');
  await clock.advance(ZOMBIE_WINDOW_MS);
  const observed = await observe(world.cluster, inputs);
  for (const e of observed.events)
    if (e.type === 'JobSuspendedDueToError' || e.type === 'JobFailed')
      world.note(
        `job log: ${e.type} by ${e.issuedBy}: ${e.cause.description}: ${e.cause.error?.message ?? ''}`,
      );
  const problems = [
    ...user.problems,
    ...checkOutputs(observed),
    ...checkLog(observed.events, user.commandIds),
    ...checkStatus(observed.events, 'RUNNING'),
  ];
  return {
    seed: schedule.seed,
    schedule,
    problems,
    notes: world.notes,
    trace: world.cluster.trace,
    settledAtMs,
  };
}

function committedOutputs(world: World): number {
  return world.cluster.watermarks(SINK).length > 0 ? world.cluster.read(SINK).length : 0;
}

async function perform(world: World, user: User, { action }: Step): Promise<void> {
  switch (action.kind) {
    case 'crash': {
      if (!world.isUp(action.slot)) return world.note(`skip: ${action.slot.role} already down`);
      world.crash(action.slot);
      await world.clock.sleep(action.restartAfterMs);
      return world.boot(action.slot);
    }
    case 'stall':
      // Counted as pending until it ends: the run settles only once every process is back.
      world.stall(action.slot, action.forMs);
      return world.clock.sleep(action.forMs);
    case 'fail':
      return world.failNext(action.fault);
    case 'suspend': {
      await user.command('SuspendJob', {}, 'sim-suspend');
      await world.clock.sleep(action.resumeAfterMs);
      await user.command(
        'ResumeJob',
        { failingRecord: 'RETRY', deadLetterTopic: null, acceptDataLoss: false, force: false },
        'sim-resume',
      );
    }
  }
}
