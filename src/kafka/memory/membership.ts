import { errorType } from '../errors.js';
import type { ConsumerOptions } from '../port.js';
import type { CommittedOffset, Member, MemberSpec } from './group.js';
import type { ClientProcess } from './process.js';
import { REJOIN_TYPES } from './protocol.js';
import { assignShare, type Owned, type Share } from './share.js';

/** kafkajs's defaults. */
const SESSION_TIMEOUT_MS = 30_000;
const HEARTBEAT_INTERVAL_MS = 3_000;
const REBALANCE_TIMEOUT_MS = 60_000;

/**
 * A consumer's side of the group protocol: its member, its current share, whether it must
 * rejoin, and its requests to the coordinator (join, heartbeat, commits, leave). A group error
 * (REBALANCE_IN_PROGRESS, UNKNOWN_MEMBER_ID, ...) from any of them sets it to rejoin, as a new
 * member when the group forgot this one, as kafkajs's runner does.
 */
export class Membership {
  member: Member | undefined;
  share: Share = { generation: -1, owned: [], stale: false };
  /** The member must join again before its next fetch. */
  rejoin = false;
  /** A join waits for its rebalance to complete. */
  joining = false;
  private lastHeartbeat = -Infinity;

  /** `wake` is called when the share ends, so an idle fetch loop notices at once. */
  constructor(
    private readonly process: ClientProcess,
    private readonly config: ConsumerOptions,
    private readonly wake: () => void,
  ) {}

  /**
   * Joins (again) and takes the new share: positions first, then `onAssignment`. False if the
   * consumer stopped (`running` turned false) meanwhile.
   */
  async join(
    topics: readonly string[],
    running: () => boolean,
    onAssignment: ((assignment: Record<string, number[]>) => void) | undefined,
  ): Promise<boolean> {
    const broker = this.process.broker;
    const groupId = this.config.groupId;
    const spec: MemberSpec = {
      client: this.process.name,
      topics,
      sessionTimeoutMs: this.config.sessionTimeoutMs ?? SESSION_TIMEOUT_MS,
      rebalanceTimeoutMs: this.config.rebalanceTimeoutMs ?? REBALANCE_TIMEOUT_MS,
      oneMember: this.config.assignment === 'one-member',
      revoked: () => {
        this.share.stale = true;
        this.wake();
      },
    };
    for (;;) {
      const { member, joined } = broker.groups.join(groupId, spec, this.member);
      this.member = member;
      this.joining = true;
      const result = await joined;
      this.joining = false;
      if (!running()) return false;
      if (result === null) continue; // removed while waiting: join as a new member
      this.share = assignShare(broker, groupId, result.generation, result.assignment);
      this.rejoin = false;
      this.lastHeartbeat = broker.clock.now();
      const keys = this.share.owned.map((o) => o.key).join(' ');
      broker.trace(`${this.process.name} ${member.id} g${result.generation} [${keys}]`);
      try {
        onAssignment?.(structuredClone(result.assignment));
      } catch (err) {
        // kafkajs's listener would throw into its join; the share stands all the same.
        broker.trace(`${this.process.name} onAssignment threw ${String(err)}`);
      }
      return true;
    }
  }

  /**
   * Heartbeats if the interval has passed (kafkajs sends none more often); fails when the
   * member must rejoin. The fetch loop's own heartbeats take `heartbeat` faults here (a batch's
   * take theirs as requests).
   */
  beat(fromLoop = false): void {
    const member = this.member;
    const { clock, groups } = this.process.broker;
    const now = clock.now();
    const interval = this.config.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS;
    if (member === undefined || now < this.lastHeartbeat + interval) return;
    const fault = fromLoop
      ? this.process.fault('heartbeat', { groupId: member.groupId })
      : undefined;
    if (fault !== undefined) throw fault.error;
    this.request(() => groups.heartbeat(member));
    this.lastHeartbeat = now;
  }

  /** A consumer's offset commit, checked against its membership. */
  commit(offsets: readonly CommittedOffset[]): void {
    const member = this.member;
    if (member === undefined)
      throw new Error(`The consumer of ${this.config.groupId} never joined`);
    this.request(() => this.process.broker.groups.commit(this.config.groupId, member, offsets));
  }

  /** Auto-commit of a partition's position after a batch; an error waits for the next one. */
  autoCommit(o: Owned): void {
    if (this.member === undefined || o.position === o.committed) return;
    const target = { groupId: this.config.groupId, topics: [o.topic] };
    const fault = this.process.fault('offsetCommit', target);
    try {
      if (fault !== undefined) throw fault.error;
      this.commit([{ topic: o.topic, partition: o.partition, offset: o.position }]);
      o.committed = o.position;
    } catch {
      // A group error has set the member to rejoin; anything else, the next batch commits.
    }
  }

  /** Leaves the group (a join waiting ends with null). */
  leave(): void {
    if (this.member !== undefined) this.process.broker.groups.leave(this.member);
  }

  /** Rejoin if the error says so; as a new member if the group forgot this one. */
  noteRejoin(err: unknown): void {
    const type = errorType(err);
    if (type === undefined || !REJOIN_TYPES.has(type) || this.joining) return;
    this.rejoin = true;
    if (type === 'UNKNOWN_MEMBER_ID') this.member = undefined;
  }

  private request(request: () => void): void {
    try {
      request();
    } catch (err) {
      this.noteRejoin(err);
      throw err;
    }
  }
}
