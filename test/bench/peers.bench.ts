// `npm run bench:peers`: Sluice beside Kafka Streams 4.4.0, the same topologies over the same
// records on the same local broker, in the same run, and the ratio of their times. Figures only;
// nothing here passes or fails.
//
// What is measured, per run: the wall time from the start command to the moment the committed
// output is exact, read as a user downstream would read it: a read_committed consumer, joined to
// the (empty) output topic before the start, reading from its beginning and keeping the latest
// value per key. "Exact" is known as the records arrive, with no polling: for `map`, as many
// outputs as inputs; for the aggregates, the latest value of every key equal to its total over
// the input (each n is 1..10, so a total is reached only once every record of the key counted).
// Time to first output is given too.
//
// The start command is each system's own unit of deployment:
// - Sluice: `sluice submit` (the built CLI, a fresh Node process) to ONE worker process started
//   once for the whole run, through the CLI, as a deployed cluster would be, and warmed by one
//   small untimed job per case. The time includes the CLI's start, the coordinator accepting the
//   job, the worker opening its tasks (topics, consumer groups, transactional producers) and the
//   processing. After each run the job is cancelled (`sluice cancel`), untimed.
// - Kafka Streams: spawning the JVM running test/bench/peers/kafka-streams (PeerApp.java, one
//   stream thread, built into one jar on first use). The time includes the JVM's start, creating
//   the internal topics, the rebalance and the processing; the time from the program's RUNNING
//   line to exact is given apart, since a long-running Kafka Streams application pays its start
//   once (the line can come after the first output: tasks may process before the client's state
//   turns RUNNING). It is stopped with SIGTERM after each run, untimed. Kafka Streams runs twice
//   per round for the stateful cases: with `statestore.cache.max.bytes=0` (every update emitted,
//   as Sluice does) and with its default 10 MB cache (updates of a key within a commit interval
//   merged). `map` keeps no store, so the cache does not apply and it runs once. Under
//   AT_LEAST_ONCE its commit interval is 30 s, and with the default cache its aggregates reach
//   the output only at a commit: that run's time is ~30 s by design (the printed footnote).
//
// Cases (test/bench/peers/pipelines.ts, which is also the worker's pipeline module):
// - map: n2 = 2n added to each JSON record, same key;
// - rekey-aggregate: grouped by r.k (a repartition on both sides), running total of n per key;
// - key-aggregate: grouped by the record key (k already), without a repartition on both sides
//   (Kafka Streams' groupByKey, Sluice's groupByKey());
// - rekey-aggregate-latest, key-aggregate-latest: Sluice with `emit: 'commit'` (each key's
//   latest value once per commit), beside the same Kafka Streams runs; its default cache does
//   the same within each 100 ms commit under exactly-once.
// - windowed-count: grouped by the record key, a count per key in tumbling 10 s windows of the
//   record timestamps, each emitted once when its window closes (Kafka Streams: windowedBy +
//   count + suppress(untilWindowCloses)). Record i's timestamp is T0 + i ms, and one record per
//   partition an hour later closes every window; exact once every window's count has arrived.
// Each (case, guarantee, round) gets a fresh input topic of BENCH_RECORDS (default 200,000) JSON
// records {"k": "key-<i>", "n": 1..10}, record key = k, BENCH_KEYS (default 1,000) keys over 3
// partitions, written before anything is timed; every run has its own output topic. Runs of a
// round are interleaved (Sluice, Kafka Streams cache=0, Kafka Streams default cache), so a slow
// minute on this shared 2-core machine shows in one round of both sides rather than one side;
// each ratio is Sluice's time over the peer's in the same round, given as min, median and max
// over BENCH_ROUNDS (default 3) rounds: below 1, Sluice was faster. While one side runs, the
// other is idle (Sluice's worker without jobs, no Kafka Streams JVM).
//
// BENCH_ONLY=case,... runs some cases (by name, e.g. map,key-aggregate); BENCH_GUARANTEES=
// EXACTLY_ONCE,AT_LEAST_ONCE picks guarantees; BENCH_TIMEOUT_S (default 300) bounds one run (one
// that times out or fails is reported and left out of the figures); BENCH_JAVA_OPTS adds JVM flags.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import { findJava } from '../../src/infra/java/jdk.js';
import { resolveInfra } from '../../src/infra/index.js';
import type { Infra } from '../../src/infra/types.js';
import kafkajs from '../../src/kafka/kafkajs/loader.js';
import { rawKafka } from '../support/raw-kafka.js';
import { childEnv, ROOT } from '../support/spawn.js';
import { CASES, WINDOW_MS, type Check, type PeerCase } from './peers/pipelines.js';
import { partitionForKey } from '../../src/kafka/memory/murmur2.js';
import { RECENT_T0 } from '../support/record-time.js';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const KEYS = Number(process.env.BENCH_KEYS ?? 1_000);
const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_S ?? 300) * 1000;
const JAVA_OPTS = (process.env.BENCH_JAVA_OPTS ?? '').split(/\s+/).filter((s) => s !== '');
const ONLY = process.env.BENCH_ONLY?.split(',').filter((s) => s !== '');
const PARTITIONS = 3;
/** The warm-up job per case, on the worker before anything is timed. */
const WARMUP_RECORDS = Math.min(RECORDS, 20_000);

const GUARANTEES = {
  EXACTLY_ONCE: { short: 'eo', cli: 'exactly-once', streams: 'exactly_once_v2' },
  AT_LEAST_ONCE: { short: 'alo', cli: 'at-least-once', streams: 'at_least_once' },
} as const;
type Guarantee = keyof typeof GUARANTEES;
const guaranteeNames = (process.env.BENCH_GUARANTEES ?? 'EXACTLY_ONCE,AT_LEAST_ONCE')
  .split(',')
  .filter((s) => s !== '');

/** The Kafka Streams runs of a round, in order; `cacheBytes` undefined = Kafka Streams' default. */
interface PeerVariant {
  id: string;
  label: string;
  cacheBytes: number | undefined;
}
const PEERS: PeerVariant[] = [
  { id: 'ks0', label: 'KStreams cache=0', cacheBytes: 0 },
  { id: 'ksdef', label: 'KStreams default cache', cacheBytes: undefined },
];
/** A stateless topology has no store to cache: one run, its label saying so. */
const peersFor = (c: PeerCase): PeerVariant[] =>
  c.topology === 'map'
    ? [{ id: 'ks', label: 'KStreams (no store)', cacheBytes: undefined }]
    : c.topology === 'table-join'
      ? // A stream–GlobalKTable join emits as it joins: no cache in the output's way.
        [{ id: 'ks', label: 'KStreams (GlobalKTable)', cacheBytes: undefined }]
      : PEERS;

const PEER_DIR = join(ROOT, 'test/bench/peers/kafka-streams');
const PEER_JAR = join(PEER_DIR, 'target/peer-app.jar');
const CLI = join(ROOT, 'dist/cli/main.js');
const MODULE = join(ROOT, 'test/bench/peers/pipelines.ts');

// ---------------------------------------------------------------------------------------------
// Child processes: every one is tracked, and stopped however this process ends.

const children = new Set<ChildProcess>();

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

/** Sends `signal`, then SIGKILL after `graceMs`; resolves once the child has exited. */
function stopChild(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

/** Kafka Streams' state folders, removed after each run, and here when this process ends. */
const stateDirs = new Set<string>();

function removeStateDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  stateDirs.delete(dir);
}

// Last resort: nothing outlives this process, even when it ends abruptly.
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  for (const d of stateDirs) removeStateDir(d);
});

let infra: Infra | undefined;
let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\n${sig}: stopping child processes\n`);
    void Promise.all([...children].map((c) => stopChild(c, 'SIGTERM', 10_000)))
      .then(() => infra?.stop())
      .finally(() => process.exit(130));
  });
}

/** A bounded tail of a child's stderr, for error messages. */
function stderrTail(child: ChildProcess, max = 4000): () => string {
  let tail = '';
  child.stderr?.on('data', (d: Buffer) => {
    tail = (tail + d.toString()).slice(-max);
  });
  return () => tail;
}

/** Runs the built CLI to completion: the global flags, then `args`. */
function sluice(endpoints: string[], args: string[]): ChildProcess {
  return track(
    spawn(process.execPath, [CLI, ...endpoints, ...args], {
      cwd: ROOT,
      env: childEnv({}),
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
}

function finished(child: ChildProcess): Promise<{ code: number | null; stdout: string }> {
  const err = stderrTail(child);
  let stdout = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve({ code, stdout });
      else reject(new Error(`exit code ${code}: ${stdout}${err()}`));
    });
  });
}

/** Rejects when the child exits: for a process that must outlive the run. */
function failsOnExit(child: ChildProcess, what: string, err: () => string): Promise<never> {
  const p = new Promise<never>((_, reject) =>
    child.once('exit', (code, sig) =>
      reject(new Error(`${what} exited (${code ?? sig}) before the output was exact: ${err()}`)),
    ),
  );
  p.catch(() => undefined);
  return p;
}

/** Rejects with `message` after `ms`, unless cleared. */
function timeout(ms: number, message: string): { promise: Promise<never>; clear: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  promise.catch(() => undefined);
  return { promise, clear: () => clearTimeout(timer) };
}

// ---------------------------------------------------------------------------------------------
// Input: the same records for every topic, and what exact output is.

interface Input {
  messages: { key: string; value: string; timestamp: string }[];
  /** Each key's total of n. */
  totals: Map<string, number>;
  /** Each key's count per window of WINDOW_MS (`<key>@<start>`), flush records left out. */
  windows: Map<string, number>;
}

/**
 * Record i's timestamp is T0 + i ms (RECENT_T0: neither deleted by retention nor in the
 * broker's future): in order in every partition. After them, one record per partition an hour later,
 * under a key of its own, moves each partition's stream time past every window, so all close;
 * its own window never does. The other cases count these records like any other.
 */
function withTime(i: number): string {
  return String(T0 + i);
}
const T0 = RECENT_T0;

function flushRecords(): Input['messages'] {
  const out: Input['messages'] = [];
  const taken = new Set<number>();
  for (let n = 0; taken.size < PARTITIONS; n++) {
    const k = `flush-${n}`;
    const p = partitionForKey(Buffer.from(k), PARTITIONS);
    if (taken.has(p)) continue;
    taken.add(p);
    out.push({ key: k, value: JSON.stringify({ k, n: 1 }), timestamp: String(T0 + 3_600_000) });
  }
  return out;
}

/** `count` records over KEYS keys, from a fixed seed (mulberry32): the same every run. */
function generate(count: number): Input {
  let seed = 0x5eed;
  const rand = (): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const messages: Input['messages'] = [];
  const totals = new Map<string, number>();
  const windows = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const k = `key-${Math.floor(rand() * KEYS)}`;
    const n = 1 + Math.floor(rand() * 10);
    messages.push({ key: k, value: JSON.stringify({ k, n }), timestamp: withTime(i) });
    totals.set(k, (totals.get(k) ?? 0) + n);
    const w = `${k}@${Math.floor((T0 + i) / WINDOW_MS) * WINDOW_MS}`;
    windows.set(w, (windows.get(w) ?? 0) + 1);
  }
  for (const f of flushRecords()) {
    messages.push(f);
    totals.set(f.key, (totals.get(f.key) ?? 0) + 1);
  }
  return { messages, totals, windows };
}

/**
 * Writes the records, each once, and checks the topic holds exactly them. Idempotent: kafkajs
 * resends a whole request when one partition of it fails (as a just-created topic's can), which
 * without sequence numbers duplicated the partitions that had succeeded, and no output was ever
 * exact.
 */
async function writeInput(kafka: Kafka, admin: Admin, topic: string, input: Input): Promise<void> {
  const producer = kafka.producer({
    createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  try {
    for (let i = 0; i < input.messages.length; i += 2000)
      await producer.send({ topic, messages: input.messages.slice(i, i + 2000) });
  } finally {
    await producer.disconnect();
  }
  const offsets = await admin.fetchTopicOffsets(topic);
  const held = offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  if (held !== input.messages.length)
    throw new Error(`${topic} holds ${held} records, not the ${input.messages.length} written`);
}

/**
 * The table of a table-join case, written before anything is timed: {"tier"} for every key of
 * the input, keyed by it, so every input record has a partner.
 */
async function writeTable(kafka: Kafka, admin: Admin, topic: string, input: Input): Promise<void> {
  const entries = [...input.totals.keys()].map((k, i) => ({
    key: k,
    value: JSON.stringify({ tier: `t${i % 3}` }),
    timestamp: String(Date.now()),
  }));
  await writeInput(kafka, admin, topic, {
    messages: entries,
    totals: new Map(),
    windows: new Map(),
  });
}

/**
 * Creates topics and waits until every partition has a leader. kafkajs's own wait
 * (`waitForLeaders`) retries only LEADER_NOT_AVAILABLE; a broker under load also answers
 * UNKNOWN_TOPIC_OR_PARTITION for a moment after the creation, which it lets through.
 */
async function createTopics(admin: Admin, topics: string[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await admin.createTopics({
        topics: topics.map((topic) => ({ topic, numPartitions: PARTITIONS })),
        waitForLeaders: false,
      });
      const meta = await admin.fetchTopicMetadata({ topics });
      const ready = meta.topics.every(
        (t) => t.partitions.length === PARTITIONS && t.partitions.every((p) => p.leader >= 0),
      );
      if (ready && meta.topics.length === topics.length) return;
      if (Date.now() > deadline) throw new Error(`topics without leaders: ${topics.join(', ')}`);
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

// ---------------------------------------------------------------------------------------------
// Output: a read_committed reader that knows, as it reads, when the output became exact.

interface Seen {
  /** performance.now() of the first output read, and of the read that made the output exact. */
  first: number;
  exact: number;
}

class OutputWatch {
  readonly done: Promise<Seen>;
  private first: number | undefined;
  private count = 0;
  private readonly latest = new Map<string, number>();
  /** Keys whose latest value equals their total. */
  private matching = 0;
  private resolve: (s: Seen) => void = () => undefined;

  private constructor(
    private readonly consumer: Consumer,
    private readonly check: Check,
    private readonly input: Input,
  ) {
    this.done = new Promise((resolve) => (this.resolve = resolve));
  }

  /** Joined to `topic` and reading it from the start once this resolves (within 60 s). */
  static async start(kafka: Kafka, topic: string, check: Check, input: Input) {
    const bound = timeout(60_000, `the reader of ${topic} did not join within 60 s`);
    try {
      return await Promise.race([OutputWatch.join(kafka, topic, check, input), bound.promise]);
    } finally {
      bound.clear();
    }
  }

  private static async join(kafka: Kafka, topic: string, check: Check, input: Input) {
    // kafkajs reads read_committed unless told otherwise; a short wait keeps the reader's own
    // delay after a commit small.
    const consumer = kafka.consumer({
      groupId: `${topic}.watch-${randomUUID().slice(0, 8)}`,
      maxWaitTimeInMs: 100,
    });
    const watch = new OutputWatch(consumer, check, input);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: ({ batch }) => {
        watch.read(batch.messages);
        return Promise.resolve();
      },
    });
    return watch;
  }

  private read(messages: { key: Buffer | null; value: Buffer | null }[]): void {
    if (messages.length === 0) return;
    const at = performance.now();
    this.first ??= at;
    if (this.check === 'all-records') {
      this.count += messages.length;
      if (this.count >= this.input.messages.length) this.resolve({ first: this.first, exact: at });
      return;
    }
    if (this.check === 'window-counts') {
      this.readWindows(messages);
      if (this.matching === this.input.windows.size) this.resolve({ first: this.first, exact: at });
      return;
    }
    const totals = this.input.totals;
    for (const m of messages) {
      const key = m.key?.toString() ?? '';
      let value: number | undefined;
      try {
        value = (JSON.parse(m.value?.toString() ?? 'null') as { value?: number } | null)?.value;
      } catch {
        value = undefined;
      }
      const want = totals.get(key);
      if (want === undefined || value === undefined) continue;
      const before = this.latest.get(key);
      if (before === want) this.matching--;
      if (value === want) this.matching++;
      this.latest.set(key, value);
    }
    if (this.matching === totals.size) this.resolve({ first: this.first, exact: at });
  }

  /** Counts the windows whose (final, emitted-once) count is the input's. */
  private readWindows(messages: { value: Buffer | null }[]): void {
    for (const m of messages) {
      let w: { key?: string; start?: number; value?: number } | null;
      try {
        w = JSON.parse(m.value?.toString() ?? 'null') as typeof w;
      } catch {
        w = null;
      }
      const id = `${w?.key}@${w?.start}`;
      if (
        w?.value !== undefined &&
        this.input.windows.get(id) === w.value &&
        !this.latest.has(id)
      ) {
        this.latest.set(id, w.value);
        this.matching++;
      }
    }
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// One run of each side.

/** A run's times from its start command, in ms; `ready` is the submit's return / RUNNING line. */
interface Times {
  ready: number | undefined;
  first: number;
  exact: number;
}

type Outcome = { ok: true; times: Times } | { ok: false; error: string };

interface RunSpec {
  c: PeerCase;
  guarantee: Guarantee;
  input: string;
  output: string;
  data: Input;
  /** Unique among this run's jobs and applications. */
  tag: string;
  /** The table topic of a table join (one entry per key, see writeTable). */
  table?: string;
}

/** The tail of the worker's stderr (its warnings and errors), for a failed run's report. */
let workerLog: () => string = () => '';

async function sluiceRun(kafka: Kafka, endpoints: string[], s: RunSpec): Promise<Outcome> {
  let watch: OutputWatch;
  try {
    watch = await OutputWatch.start(kafka, s.output, s.c.check, s.data);
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  const limit = timeout(TIMEOUT_MS, `Sluice ${s.tag}: not exact within ${TIMEOUT_MS / 1000} s`);
  let jobId: Promise<string | undefined> = Promise.resolve(undefined);
  try {
    const t0 = performance.now();
    let submitted: number | undefined;
    const submit = finished(
      sluice(endpoints, [
        'submit',
        s.c.name,
        '--name',
        s.tag,
        '--guarantee',
        GUARANTEES[s.guarantee].cli,
        '--arg',
        `input=${s.input}`,
        '--arg',
        `output=${s.output}`,
        ...(s.table === undefined ? [] : ['--arg', `table=${s.table}`]),
        '--json',
      ]),
    ).then((r) => {
      submitted = performance.now();
      return (JSON.parse(r.stdout) as { jobId: string }).jobId;
    });
    jobId = submit.catch(() => undefined);
    const seen = await Promise.race([
      watch.done,
      submit.then(() => new Promise<never>(() => undefined)),
      limit.promise,
    ]);
    return {
      ok: true,
      times: {
        ready: submitted === undefined ? undefined : submitted - t0,
        first: seen.first - t0,
        exact: seen.exact - t0,
      },
    };
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    return { ok: false, error: `${error}; the worker's stderr ends: ${workerLog().slice(-1500)}` };
  } finally {
    limit.clear();
    const id = await jobId;
    if (id !== undefined) {
      const cancel = sluice(endpoints, ['cancel', id, '--json']);
      const bound = timeout(60_000, 'no answer within 60 s');
      await Promise.race([finished(cancel), bound.promise])
        .catch((err: unknown) =>
          process.stderr.write(`could not cancel ${s.tag} (${id}): ${String(err)}\n`),
        )
        .finally(bound.clear);
      await stopChild(cancel, 'SIGTERM', 5_000);
    }
    await watch.stop();
  }
}

function streamsArgs(
  brokers: string[],
  s: RunSpec,
  peer: PeerVariant,
  appId: string,
  stateDir: string,
): string[] {
  return [
    ...JAVA_OPTS,
    '-jar',
    PEER_JAR,
    '--topology',
    s.c.topology,
    '--input',
    s.input,
    '--output',
    s.output,
    ...(s.table === undefined ? [] : ['--table', s.table]),
    '--bootstrap',
    brokers.join(','),
    '--app-id',
    appId,
    '--guarantee',
    GUARANTEES[s.guarantee].streams,
    ...(peer.cacheBytes === undefined ? [] : ['--cache-bytes', String(peer.cacheBytes)]),
    '--threads',
    '1',
    '--state-dir',
    stateDir,
  ];
}

async function streamsRun(
  kafka: Kafka,
  java: string,
  brokers: string[],
  s: RunSpec,
  peer: PeerVariant,
): Promise<Outcome> {
  let watch: OutputWatch;
  try {
    watch = await OutputWatch.start(kafka, s.output, s.c.check, s.data);
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  const limit = timeout(
    TIMEOUT_MS,
    `Kafka Streams ${s.tag}: not exact within ${TIMEOUT_MS / 1000} s`,
  );
  let child: ChildProcess | undefined;
  const stateDir = mkdtempSync(join(tmpdir(), 'peer-app-'));
  stateDirs.add(stateDir);
  try {
    const t0 = performance.now();
    child = track(
      spawn(java, streamsArgs(brokers, s, peer, `${s.tag}.app`, stateDir), {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    const err = stderrTail(child);
    let running: number | undefined;
    if (child.stdout)
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (line.trim() === 'RUNNING') running ??= performance.now();
      });
    const seen = await Promise.race([
      watch.done,
      failsOnExit(child, 'Kafka Streams', err),
      limit.promise,
    ]);
    return {
      ok: true,
      times: {
        ready: running === undefined ? undefined : running - t0,
        first: seen.first - t0,
        exact: seen.exact - t0,
      },
    };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  } finally {
    limit.clear();
    if (child) await stopChild(child, 'SIGTERM', 45_000);
    removeStateDir(stateDir);
    await watch.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// The Kafka Streams jar, built when missing or older than its sources.

function newest(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))));
}

function buildPeerJar(): void {
  let jarTime: number;
  try {
    jarTime = statSync(PEER_JAR).mtimeMs;
  } catch {
    jarTime = 0;
  }
  const sources = Math.max(newest(join(PEER_DIR, 'pom.xml')), newest(join(PEER_DIR, 'src')));
  if (jarTime > sources) return;
  const args = ['-q', '-f', relative(ROOT, join(PEER_DIR, 'pom.xml')), 'package', '-DskipTests'];
  process.stderr.write(`building the Kafka Streams peer: mvn ${args.join(' ')}\n`);
  // mvn's own output goes to stderr: stdout is for the figures.
  const r = spawnSync('mvn', args, { cwd: ROOT, stdio: ['ignore', 2, 2] });
  if (r.status !== 0) throw new Error(`mvn failed (${r.status ?? r.signal}); see above`);
}

// ---------------------------------------------------------------------------------------------
// Figures.

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length === 0 ? NaN : s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const secs = (ms: number): string => (Number.isNaN(ms) ? 'n/a' : (ms / 1000).toFixed(2));
const fixed = (x: number): string => (Number.isNaN(x) ? 'n/a' : x.toFixed(2));

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Per (case, guarantee): Sluice's outcome per round, and each peer variant's. */
interface Cell {
  c: PeerCase;
  guarantee: Guarantee;
  sluice: Outcome[];
  peers: Map<string, Outcome[]>;
}

function report(cells: Cell[]): void {
  const ratioRows: string[][] = [];
  const timeRows: string[][] = [];
  const ok = (os: Outcome[]): Times[] => os.flatMap((o) => (o.ok ? [o.times] : []));
  for (const cell of cells) {
    const sl = ok(cell.sluice);
    const g = GUARANTEES[cell.guarantee].short.toUpperCase();
    timeRows.push([
      cell.c.name,
      g,
      'Sluice',
      `${sl.length}/${cell.sluice.length}`,
      secs(median(sl.flatMap((t) => (t.ready === undefined ? [] : [t.ready])))),
      secs(median(sl.map((t) => t.first))),
      secs(median(sl.map((t) => t.exact))),
      secs(median(sl.flatMap((t) => (t.ready === undefined ? [] : [t.exact - t.ready])))),
    ]);
    for (const peer of peersFor(cell.c)) {
      const outcomes = cell.peers.get(peer.id) ?? [];
      const ps = ok(outcomes);
      const ratios = outcomes.flatMap((o, round) => {
        const s = cell.sluice[round];
        return o.ok && s?.ok ? [s.times.exact / o.times.exact] : [];
      });
      ratioRows.push([
        cell.c.name,
        g,
        peer.label,
        `${ratios.length}`,
        secs(median(sl.map((t) => t.exact))),
        secs(median(ps.map((t) => t.exact))),
        fixed(ratios.length > 0 ? Math.min(...ratios) : NaN),
        fixed(median(ratios)),
        fixed(ratios.length > 0 ? Math.max(...ratios) : NaN),
      ]);
      timeRows.push([
        cell.c.name,
        g,
        peer.label,
        `${ps.length}/${outcomes.length}`,
        secs(median(ps.flatMap((t) => (t.ready === undefined ? [] : [t.ready])))),
        secs(median(ps.map((t) => t.first))),
        secs(median(ps.map((t) => t.exact))),
        secs(median(ps.flatMap((t) => (t.ready === undefined ? [] : [t.exact - t.ready])))),
      ]);
    }
  }
  const out = (s: string): boolean => process.stdout.write(`${s}\n`);
  out('');
  out(
    `Time from start command to exact committed output, medians in seconds; ratio = Sluice / peer per round (< 1: Sluice faster).`,
  );
  out(
    table(
      ['case', 'g', 'peer', 'rounds', 'Sluice s', 'peer s', 'ratio min', 'ratio med', 'ratio max'],
      ratioRows,
    ),
  );
  out('');
  out(
    'Where the time goes, medians in seconds from the start command. ready: Sluice = `sluice submit` returned (job accepted); Kafka Streams = its RUNNING line.',
  );
  out(table(['case', 'g', 'side', 'ok', 'ready', 'first out', 'exact', 'ready->exact'], timeRows));
  out(
    "Kafka Streams' RUNNING (its client state) can come after its first output (seen without a repartition): its tasks may process before the client state says so, and then ready->exact understates its processing time.",
  );
  out('');
  out(
    'EO = EXACTLY_ONCE (Sluice exactly-once, Kafka Streams exactly_once_v2); ALO = AT_LEAST_ONCE (at-least-once, at_least_once).',
  );
  if (cells.some((c) => c.guarantee === 'AT_LEAST_ONCE'))
    out(
      'Under ALO neither side writes transactions, so output is visible as soon as it is produced; ' +
        'Kafka Streams commits only every 30 s (commit.interval.ms), and with its default cache a ' +
        "key's updates are held in the cache until that commit (or until the cache fills): its " +
        'output becomes exact up to 30 s after it processed the last record, which is what a ' +
        'reader downstream sees. With cache=0 every update is sent as it is made.',
    );
  const failures = cells.flatMap((cell) =>
    [
      ...cell.sluice.map((o, r) => ['Sluice', r, o] as const),
      ...[...cell.peers].flatMap(([id, os]) => os.map((o, r) => [id, r, o] as const)),
    ].flatMap(([side, round, o]) =>
      o.ok ? [] : [`${cell.c.name} ${cell.guarantee} ${side} round ${round + 1}: ${o.error}`],
    ),
  );
  if (failures.length > 0) {
    out('');
    out(`Runs left out (failed or timed out):`);
    for (const f of failures) out(`  ${f.slice(0, 2000)}`);
  }
}

// ---------------------------------------------------------------------------------------------

function printSettings(
  ns: string,
  brokers: string[],
  registryUrl: string,
  cases: PeerCase[],
  java: string,
) {
  const out = (s: string): boolean => process.stdout.write(`${s}\n`);
  const env = Object.entries(process.env)
    .filter(([k]) => k.startsWith('BENCH_'))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const direct = 'node --import tsx test/bench/peers.bench.ts';
  const how =
    process.env.npm_lifecycle_event === 'bench:peers'
      ? `npm run bench:peers (npm run build && ${direct})`
      : direct;
  out(`command: ${env ? `${env} ` : ''}${how}`);
  out(
    `settings: records=${RECORDS} keys=${KEYS} partitions=${PARTITIONS} rounds=${ROUNDS} ` +
      `guarantees=${guaranteeNames.join(',')} cases=${cases.map((c) => c.name).join(',')} ` +
      `timeout=${TIMEOUT_MS / 1000}s warm-up=${WARMUP_RECORDS} records per case (Sluice)`,
  );
  out(
    `broker ${brokers.join(',')}, registry ${registryUrl}, namespace ${ns}; node ${process.version}, ${java}`,
  );
  out(
    `Sluice: one worker for the whole run: node dist/cli/main.js --brokers B --registry R --namespace ${ns} worker test/bench/peers/pipelines.ts --worker-id w1 --json`,
  );
  out(
    `  per run: node dist/cli/main.js ... submit <case> --name <tag> --guarantee <g> --arg input=<in> --arg output=<out> --json; after it: cancel <jobId> --json`,
  );
  out(
    `Kafka Streams 4.4.0, per run: java ${JAVA_OPTS.join(' ')}${JAVA_OPTS.length ? ' ' : ''}-jar test/bench/peers/kafka-streams/target/peer-app.jar --topology <case> --input <in> --output <out> --bootstrap B --app-id <tag> --guarantee exactly_once_v2|at_least_once [--cache-bytes 0] --threads 1 --state-dir <tmp>; SIGTERM after it`,
  );
  for (const c of cases)
    out(`  ${c.name}: Sluice ${c.describe}; Kafka Streams topology ${c.topology}`);
  out('');
}

async function main(): Promise<void> {
  const unknown = guaranteeNames.filter((g) => !(g in GUARANTEES));
  if (unknown.length > 0)
    throw new Error(
      `BENCH_GUARANTEES: ${unknown.join(',')} not among ${Object.keys(GUARANTEES).join(',')}`,
    );
  const guarantees = guaranteeNames as Guarantee[];
  const cases = CASES.filter((c) => !ONLY || ONLY.includes(c.name));
  if (cases.length === 0)
    throw new Error(`BENCH_ONLY matches no case; cases: ${CASES.map((c) => c.name).join(',')}`);
  const jdk = findJava(17);
  if (!jdk) throw new Error('Kafka Streams needs Java 17+, and none was found');

  buildPeerJar();
  infra = await resolveInfra({ onProgress: (m) => process.stderr.write(`${m}\n`) });
  const { brokers, registryUrl } = infra;
  const ns = `peers-${randomUUID().slice(0, 8)}`;
  const endpoints = ['--brokers', brokers.join(','), '--registry', registryUrl, '--namespace', ns];
  printSettings(ns, brokers, registryUrl, cases, `Java ${jdk.major} (${jdk.java})`);

  const kafka = rawKafka('bench-peers', brokers);
  const admin: Admin = kafka.admin();
  await admin.connect();
  let worker: ChildProcess | undefined;
  try {
    const create = (topics: string[]) => createTopics(admin, topics);

    // The worker, started once and ready before anything is timed.
    worker = sluice(endpoints, ['worker', MODULE, '--worker-id', 'w1', '--json']);
    const workerErr = stderrTail(worker);
    workerLog = workerErr;
    const workerDied = failsOnExit(worker, 'The Sluice worker', workerErr);
    const startLimit = timeout(120_000, 'the worker did not start within 120 s');
    await Promise.race([
      new Promise<void>((resolve) => {
        if (worker?.stdout) createInterface({ input: worker.stdout }).once('line', () => resolve());
      }),
      workerDied,
      startLimit.promise,
    ]).finally(startLimit.clear);
    process.stderr.write(`worker w1 up in namespace ${ns}\n`);

    // Warm-up, untimed: one small job per case on the worker, one Kafka Streams start (the jar
    // and RocksDB's library read once from disk).
    const warm = generate(WARMUP_RECORDS);
    await create([`${ns}.warm.in`, `${ns}.warm.table`]);
    await writeInput(kafka, admin, `${ns}.warm.in`, warm);
    await writeTable(kafka, admin, `${ns}.warm.table`, warm);
    for (const [i, c] of cases.entries()) {
      const spec: RunSpec = {
        c,
        guarantee: guarantees[0] ?? 'EXACTLY_ONCE',
        input: `${ns}.warm.in`,
        output: `${ns}.warm.out-${i}`,
        data: warm,
        tag: `${ns}.warm-${i}`,
        ...(c.topology === 'table-join' ? { table: `${ns}.warm.table` } : {}),
      };
      await create([spec.output, `${spec.output}-ks`]);
      const s = await Promise.race([sluiceRun(kafka, endpoints, spec), workerDied]);
      process.stderr.write(
        `warm-up ${c.name}: Sluice ${s.ok ? `${secs(s.times.exact)} s` : s.error}\n`,
      );
      if (i === 0) {
        const k = await streamsRun(
          kafka,
          jdk.java,
          brokers,
          { ...spec, output: `${spec.output}-ks`, tag: `${spec.tag}-ks` },
          PEERS[0]!,
        );
        process.stderr.write(
          `warm-up ${c.name}: Kafka Streams ${k.ok ? `${secs(k.times.exact)} s` : k.error}\n`,
        );
      }
    }

    const data = generate(RECORDS);
    const cells: Cell[] = cases.flatMap((c) =>
      guarantees.map((guarantee) => ({ c, guarantee, sluice: [], peers: new Map() })),
    );
    for (let round = 0; round < ROUNDS; round++) {
      for (const cell of cells) {
        const p = `${ns}.${cell.c.name}-${GUARANTEES[cell.guarantee].short}-${round}`;
        const peers = peersFor(cell.c);
        await create([`${p}.in`, `${p}.out-sluice`, ...peers.map((v) => `${p}.out-${v.id}`)]);
        process.stderr.write(`${p}: writing ${RECORDS} records, then the runs\n`);
        await writeInput(kafka, admin, `${p}.in`, data);
        const joins = cell.c.topology === 'table-join';
        if (joins) {
          await create([`${p}.table`]);
          await writeTable(kafka, admin, `${p}.table`, data);
        }
        const base = {
          c: cell.c,
          guarantee: cell.guarantee,
          input: `${p}.in`,
          data,
          ...(joins ? { table: `${p}.table` } : {}),
        };
        const s = await Promise.race([
          sluiceRun(kafka, endpoints, { ...base, output: `${p}.out-sluice`, tag: `${p}.sluice` }),
          workerDied,
        ]);
        cell.sluice.push(s);
        const line = [
          `round ${round + 1}/${ROUNDS} ${cell.c.name} ${cell.guarantee}: Sluice ${brief(s)}`,
        ];
        for (const v of peers) {
          const o = await streamsRun(
            kafka,
            jdk.java,
            brokers,
            { ...base, output: `${p}.out-${v.id}`, tag: `${p}.${v.id}` },
            v,
          );
          cell.peers.set(v.id, [...(cell.peers.get(v.id) ?? []), o]);
          line.push(`${v.label} ${brief(o)}`);
        }
        process.stderr.write(`${line.join('; ')}\n`);
      }
    }
    report(cells);
  } finally {
    if (worker) await stopChild(worker, 'SIGINT', 30_000);
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(`${ns}.`));
    await admin.deleteTopics({ topics: mine }).catch(() => undefined);
    await admin.disconnect();
  }
}

function brief(o: Outcome): string {
  if (!o.ok) return `FAILED (${o.error.slice(0, 200)})`;
  const ready = o.times.ready === undefined ? '' : `ready ${secs(o.times.ready)} `;
  return `${ready}first ${secs(o.times.first)} exact ${secs(o.times.exact)} s`;
}

try {
  await main();
} catch (err) {
  // After Ctrl-C the children's ends surface here as errors: the signal handler reports instead.
  if (!stopping)
    process.stderr.write(
      `bench:peers failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
  process.exitCode = 1;
} finally {
  await Promise.all([...children].map((c) => stopChild(c, 'SIGTERM', 10_000)));
  await infra?.stop();
}
// A client stuck in kafkajs's retries after a failure would keep the process alive.
process.exit();
