/**
 * Sluice's timeouts, named and set in one place (docs/configuration.md explains each). They
 * trade failover speed against false alarms on a loaded machine; change them here, on purpose.
 */

/**
 * How long the coordinator election waits for a silent coordinator before a standby takes
 * over: the failover time after a crash. Kafka's floor is 6 s (group.min.session.timeout.ms).
 * A coordinator's option (`sessionTimeoutMs`, `sluice coordinator --session-timeout`).
 */
export const DEFAULT_SESSION_TIMEOUT_MS = 10_000;

/** The same for a job's tasks: how long a dead worker's partitions wait before they move. */
export const TASK_SESSION_TIMEOUT_MS = 10_000;

/**
 * How often a task's consumer tells its group it is alive. Also how soon a member learns of a
 * rebalance (the heartbeat's answer says so), and a job's workers join its groups one after the
 * other on a start or resume: with three workers, a resume's last output came 1.03 s (p50) after
 * a fresh job's at 1 s, 0.56 s at 250 ms (`npm run bench:failure`). Four small requests a second
 * per hop and worker.
 */
export const TASK_HEARTBEAT_MS = 250;

/**
 * How long the broker lets a transaction stay open before it aborts it, per writer. An open
 * transaction holds back every read_committed reader of its partitions, so Sluice's own are
 * short (a chunk, a batch of commands); these bound what a writer that hangs can block.
 */
export const TRANSACTION_TIMEOUT_MS = {
  /** The coordinator's: one batch of commands and their events. */
  coordinator: 30_000,
  /** An exactly-once task's: one chunk of records, its outputs, state and offsets. */
  task: 60_000,
  /** Seeding a new job from an exported snapshot: its state topics copied in one transaction. */
  seed: 120_000,
  /** A fencing producer opens no transaction; this is kafkajs's default, stated. */
  fence: 60_000,
} as const;

/** How long a command may wait for the coordinator's answer before the client gives up. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;

/** How long a failure waits for later hops to finish their input before freezing them anyway. */
export const DRAIN_TIMEOUT_MS = 30_000;

/**
 * How long a fenced task waits before it reopens. The coordinator appends a stopping event a
 * few milliseconds after fencing; workers read it within a fetch, well inside this pause.
 */
export const FENCED_PAUSE_MS = 1_000;

/**
 * How long the coordinator waits for the fencing of a stopping job's tasks before it appends
 * the event anyway. It runs inside the coordinator's batch, without heartbeats, so it stays
 * well under the coordinator's session timeout (6 s at the least).
 */
export const FENCE_TIMEOUT_MS = 4_000;

/** How long an ended job's topics stay, so every worker stops its part before they go. */
export const CLEANUP_DELAY_MS = 5_000;

/** How often a bounded job checks whether every partition reached its end offset. */
export const COMPLETION_CHECK_MS = 500;

/**
 * How often a worker refreshes its presence record on `<ns>.workers` (its pipelines and their
 * code fingerprints). A reader counts a worker live for three intervals after its last record,
 * so a crashed worker stops counting 30 s after its last refresh; a clean stop writes a
 * tombstone at once. Six small writes a minute per worker.
 */
export const PRESENCE_INTERVAL_MS = 10_000;

/**
 * How long `sluice resume --dry-run` (`job.tryResume()`) waits for the live hosts' answers by
 * default. A dry run reads the failing record and the changelogs of the job's stateful stages
 * from their beginning, so a job with much state needs a longer `--timeout-ms`.
 */
export const DEFAULT_DRY_RUN_TIMEOUT_MS = 30_000;

/**
 * How long a worker's dry run may take before it answers with a timeout instead: twice what a
 * client waits by default, so a client given a longer `--timeout-ms` still gets answers.
 */
export const DRY_RUN_SANDBOX_TIMEOUT_MS = 2 * DEFAULT_DRY_RUN_TIMEOUT_MS;
