import type { Cancel } from '../../domain/clock.js';

/** How a consumer joins: what the coordinator keeps of it. */
export interface MemberSpec {
  /** The client (simulated process) the member belongs to: the prefix of its member id. */
  client: string;
  topics: readonly string[];
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  /** Every partition to one member (ConsumerOptions.assignment). */
  oneMember?: boolean;
  /** The member's current assignment ended: a rebalance began, or the member was removed. */
  revoked: () => void;
}

/** A completed join: the generation and this member's share of it. */
export interface JoinResult {
  generation: number;
  assignment: Record<string, number[]>;
}

/** A member of a group, as the coordinator tracks it. */
export class Member {
  /** When the member was last heard of (heartbeat, commit, join). */
  lastSeen = 0;
  /** The generation it last got an assignment in; -1 before its first. */
  generation = -1;
  assignment: Record<string, number[]> = {};
  /** Set while the member waits in a join for the rebalance to complete. */
  waiting: ((result: JoinResult | null) => void) | undefined;
  sessionTimer: Cancel | undefined;

  constructor(
    readonly id: string,
    readonly groupId: string,
    readonly spec: MemberSpec,
  ) {}
}

/** A committed offset: the next offset the group reads on a partition. */
export interface CommittedOffset {
  topic: string;
  partition: number;
  offset: number;
  metadata?: string | null;
}

/** One consumer group: members, generations, committed offsets. */
export class Group {
  generation = 0;
  /** A rebalance began and waits for members to rejoin (Kafka's PreparingRebalance). */
  rebalancing = false;
  readonly members = new Map<string, Member>();
  readonly committed = new Map<string, CommittedOffset>();
  rebalanceTimer: Cancel | undefined;

  constructor(readonly id: string) {}

  has(member: Member): boolean {
    return this.members.get(member.id) === member;
  }
}
