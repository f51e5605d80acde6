import type { Cancel, Clock } from '../../domain/clock.js';
import { KafkaProtocolError } from '../errors.js';
import type { CommittedOffset } from './group.js';
import type { GroupCoordinator } from './groups.js';
import type { PartitionLog, TxnRef, TxnStatus } from './log.js';
import { fenced, type FencedBy } from './protocol.js';

/** Kafka's default `transaction.max.timeout.ms`: a producer may not ask for longer. */
const MAX_TRANSACTION_TIMEOUT_MS = 900_000;

/** A transaction on the broker, from its first write (or offsets) to its markers. */
export class BrokerTxn implements TxnRef {
  state: TxnStatus = 'open';
  /** The partitions it wrote, in the order first written: each gets a marker at the end. */
  readonly logs = new Set<PartitionLog>();
  /** Offsets to commit with it, by group, then by `topic:partition`. */
  readonly offsets = new Map<string, Map<string, CommittedOffset>>();
  timeout: Cancel | undefined;

  constructor(
    readonly transactionalId: string,
    readonly producerId: number,
    readonly epoch: number,
    readonly startedAt: number,
  ) {}
}

/** What a producer got from `init()`: the id, and the epoch that is its claim on it. */
export interface ProducerSession {
  transactionalId: string;
  producerId: number;
  epoch: number;
}

/** The coordinator's state of one transactional id. */
interface TxnId {
  producerId: number;
  epoch: number;
  timeoutMs: number;
  txn: BrokerTxn | null;
  /** Why the epoch last moved, which says how a stale producer is told it is fenced. */
  bumpedBy: FencedBy;
}

/**
 * The transaction coordinator (EOS v1 as kafkajs uses it). A transactional id has one producer
 * id and an epoch; `init` bumps the epoch, aborting the transaction left open, and every
 * request of an older epoch fails fenced. A transaction begins on the broker with its first
 * write or offsets; the broker aborts one open longer than its timeout, and bumps the epoch so
 * the producer's next request fails (Kafka 2.5+). Ending writes a marker to every partition
 * the transaction wrote and, on commit, commits its offsets, all at once.
 */
export class TransactionCoordinator {
  private readonly ids = new Map<string, TxnId>();

  constructor(
    private readonly clock: Clock,
    private readonly groups: GroupCoordinator,
    private readonly newProducerId: () => number,
    private readonly trace: (line: string) => void,
  ) {}

  /** InitProducerId: takes the id over. One already committing has completed (ends are atomic). */
  init(transactionalId: string, timeoutMs: number): ProducerSession {
    if (!(timeoutMs > 0 && timeoutMs <= MAX_TRANSACTION_TIMEOUT_MS))
      throw new KafkaProtocolError(
        'INVALID_TRANSACTION_TIMEOUT',
        `The transaction timeout ${timeoutMs} is not in (0, ${MAX_TRANSACTION_TIMEOUT_MS}]`,
        false,
      );
    let s = this.ids.get(transactionalId);
    if (s === undefined) {
      s = { producerId: this.newProducerId(), epoch: -1, timeoutMs, txn: null, bumpedBy: 'init' };
      this.ids.set(transactionalId, s);
    }
    if (s.txn !== null) this.complete(s, s.txn, false, 'fenced by init');
    s.epoch++;
    s.bumpedBy = 'init';
    s.timeoutMs = timeoutMs;
    this.trace(`txn ${transactionalId} init epoch ${s.epoch}`);
    return { transactionalId, producerId: s.producerId, epoch: s.epoch };
  }

  /** Fails fenced unless the session's epoch is still the id's. */
  check(session: ProducerSession): void {
    this.current(session);
  }

  /** AddPartitionsToTxn: the transaction (begun now if none is open) will write `logs`. */
  addPartitions(session: ProducerSession, logs: Iterable<PartitionLog>): BrokerTxn {
    const txn = this.ongoing(session);
    for (const log of logs) txn.logs.add(log);
    return txn;
  }

  /** AddOffsetsToTxn + TxnOffsetCommit: offsets the group gets if the transaction commits. */
  addOffsets(
    session: ProducerSession,
    groupId: string,
    offsets: readonly CommittedOffset[],
  ): BrokerTxn {
    const txn = this.ongoing(session);
    let staged = txn.offsets.get(groupId);
    if (staged === undefined)
      txn.offsets.set(groupId, (staged = new Map<string, CommittedOffset>()));
    for (const o of offsets) staged.set(`${o.topic}:${o.partition}`, o);
    return txn;
  }

  /**
   * EndTxn. `txn` is the one the producer's transaction began on the broker (null if it sent
   * nothing: then there is nothing to end, as kafkajs sends no request). Repeating an end that
   * took effect (its answer lost) succeeds again; the other end fails INVALID_TXN_STATE.
   */
  end(session: ProducerSession, txn: BrokerTxn | null, commit: boolean): void {
    const s = this.current(session);
    if (txn === null) return;
    if (txn.state === 'open' && s.txn === txn) {
      this.complete(s, txn, commit, commit ? 'commit' : 'abort');
      return;
    }
    if ((txn.state === 'committed') === commit) return;
    throw new KafkaProtocolError(
      'INVALID_TXN_STATE',
      `The transaction of ${session.transactionalId} was already ${txn.state}`,
      false,
    );
  }

  /** Transactions open now, by transactional id (test support). */
  open(): BrokerTxn[] {
    return [...this.ids.values()].flatMap((s) => (s.txn === null ? [] : [s.txn]));
  }

  private current(session: ProducerSession): TxnId {
    const s = this.ids.get(session.transactionalId);
    if (s === undefined || s.epoch !== session.epoch)
      throw fenced(session.transactionalId, s?.bumpedBy ?? 'init');
    return s;
  }

  private ongoing(session: ProducerSession): BrokerTxn {
    const s = this.current(session);
    if (s.txn !== null) return s.txn;
    const txn = new BrokerTxn(session.transactionalId, s.producerId, s.epoch, this.clock.now());
    s.txn = txn;
    txn.timeout = this.clock.after(s.timeoutMs, () => {
      if (s.txn !== txn) return;
      this.complete(s, txn, false, 'timed out');
      s.epoch++;
      s.bumpedBy = 'timeout';
    });
    return txn;
  }

  private complete(s: TxnId, txn: BrokerTxn, commit: boolean, why: string): void {
    txn.state = commit ? 'committed' : 'aborted';
    txn.timeout?.();
    txn.timeout = undefined;
    s.txn = null;
    const now = this.clock.now();
    for (const log of txn.logs) log.endTxn(txn, commit ? 'commit' : 'abort', now);
    if (commit)
      for (const [groupId, offsets] of txn.offsets)
        this.groups.commit(groupId, null, [...offsets.values()]);
    const where = [...txn.logs].map((l) => `${l.topic}/${l.partition}`).join(' ');
    this.trace(`txn ${txn.transactionalId} ${txn.state} (${why}) [${where}]`);
  }
}
