import type { Clock } from '../../domain/clock.js';
import { KafkaProtocolError } from '../errors.js';
import { assignRoundRobin, assignToOne } from './assignor.js';
import { Group, Member, type CommittedOffset, type JoinResult, type MemberSpec } from './group.js';
import { rebalancing, unknownMember } from './protocol.js';

/**
 * The group coordinator, with Kafka's eager rebalance protocol: a join, a leave or an expired
 * session starts a rebalance; every member must rejoin (members learn of it at their next fetch
 * or heartbeat, after the batch in flight); once all have, or the rebalance timeout passed
 * (members that did not rejoin are removed), a new generation begins and each member gets its
 * share. Two live members of one generation never share a partition; a removed member that
 * runs on (a zombie) may still be handling one, which is what transactional fencing is for.
 */
export class GroupCoordinator {
  private readonly groups = new Map<string, Group>();
  private memberSeq = 0;

  constructor(
    private readonly clock: Clock,
    private readonly partitionsOf: (topic: string) => number | undefined,
    private readonly trace: (line: string) => void,
  ) {}

  get(groupId: string): Group | undefined {
    return this.groups.get(groupId);
  }

  /** Known group ids (members or committed offsets), sorted. */
  ids(): string[] {
    return [...this.groups.keys()].sort();
  }

  /**
   * Joins `existing` again, or a new member when it is not (or no longer) in the group. The
   * member at once; its join completes with its share, or null if it was removed meanwhile.
   */
  join(
    groupId: string,
    spec: MemberSpec,
    existing?: Member,
  ): { member: Member; joined: Promise<JoinResult | null> } {
    const group = this.group(groupId);
    const now = this.clock.now();
    if (existing !== undefined && group.has(existing)) {
      existing.lastSeen = now;
      // A known member's join in a stable group just gets its current share back.
      if (!group.rebalancing)
        return {
          member: existing,
          joined: Promise.resolve({
            generation: group.generation,
            assignment: existing.assignment,
          }),
        };
      const joined = new Promise<JoinResult | null>((resolve) => (existing.waiting = resolve));
      this.tryComplete(group);
      return { member: existing, joined };
    }
    const id = `${spec.client}-${String(++this.memberSeq).padStart(4, '0')}`;
    const member = new Member(id, groupId, spec);
    member.lastSeen = now;
    group.members.set(id, member);
    const joined = new Promise<JoinResult | null>((resolve) => (member.waiting = resolve));
    this.trace(`group ${groupId} join ${id}`);
    this.rebalance(group);
    this.tryComplete(group);
    return { member, joined };
  }

  /** The member leaves (a consumer stopping): the others rebalance. */
  leave(member: Member): void {
    const group = this.groups.get(member.groupId);
    if (group === undefined || !group.has(member)) return;
    this.trace(`group ${group.id} leave ${member.id}`);
    this.remove(group, member);
    this.afterRemoval(group);
  }

  /** A heartbeat: keeps the session; fails when the member must rejoin. */
  heartbeat(member: Member): void {
    const group = this.member(member);
    member.lastSeen = this.clock.now();
    if (group.rebalancing) throw rebalancing(group.id);
  }

  /**
   * Commits offsets for the group: for a member (a consumer's commit), only while it belongs to
   * the group's current generation; without one (a transaction's offsets, TxnOffsetCommit v1
   * as kafkajs sends it), unchecked.
   */
  commit(groupId: string, member: Member | null, offsets: readonly CommittedOffset[]): void {
    const group = member === null ? this.group(groupId) : this.member(member);
    if (member !== null) {
      // Kafka accepts commits of the current generation while a rebalance waits for rejoins.
      if (member.generation !== group.generation) throw rebalancing(groupId);
      member.lastSeen = this.clock.now();
    }
    for (const o of offsets) group.committed.set(`${o.topic}:${o.partition}`, o);
  }

  /**
   * A transaction's offsets for a member at a generation (TxnOffsetCommit v3): refused once the
   * member left the group or the group moved to another generation, as Kafka's coordinator does.
   */
  checkGeneration(groupId: string, memberId: string, generationId: number): void {
    const group = this.group(groupId);
    if (!group.members.has(memberId))
      throw new KafkaProtocolError(
        'UNKNOWN_MEMBER_ID',
        `${memberId} is not a member of ${groupId}`,
        false,
      );
    if (generationId !== group.generation)
      throw new KafkaProtocolError(
        'ILLEGAL_GENERATION',
        `Generation ${generationId} of ${groupId} is over (now ${group.generation})`,
        false,
      );
  }

  /** The group's committed offset on a partition. */
  committed(groupId: string, topic: string, partition: number): number | undefined {
    return this.groups.get(groupId)?.committed.get(`${topic}:${partition}`)?.offset;
  }

  /** Deletes an empty group and its offsets. */
  delete(groupId: string): void {
    const group = this.groups.get(groupId);
    if (group === undefined)
      throw new KafkaProtocolError('GROUP_ID_NOT_FOUND', `Group ${groupId} does not exist`, false);
    if (group.members.size > 0)
      throw new KafkaProtocolError('NON_EMPTY_GROUP', `Group ${groupId} has members`, false);
    this.groups.delete(groupId);
  }

  private group(groupId: string): Group {
    let group = this.groups.get(groupId);
    if (group === undefined) this.groups.set(groupId, (group = new Group(groupId)));
    return group;
  }

  /** The member's group, or UNKNOWN_MEMBER_ID if it is not in it. */
  private member(member: Member): Group {
    const group = this.groups.get(member.groupId);
    if (group === undefined || !group.has(member)) throw unknownMember(member.groupId, member.id);
    return group;
  }

  private rebalance(group: Group): void {
    if (group.rebalancing) return;
    group.rebalancing = true;
    this.trace(`group ${group.id} rebalance (generation ${group.generation})`);
    let timeout = 0;
    for (const m of group.members.values()) {
      timeout = Math.max(timeout, m.spec.rebalanceTimeoutMs);
      m.spec.revoked();
    }
    group.rebalanceTimer = this.clock.after(timeout, () => {
      group.rebalanceTimer = undefined;
      for (const m of [...group.members.values()])
        if (m.waiting === undefined) {
          this.trace(`group ${group.id} rebalance timeout removes ${m.id}`);
          this.remove(group, m);
        }
      if (group.members.size === 0) this.afterRemoval(group);
      else this.tryComplete(group);
    });
  }

  private tryComplete(group: Group): void {
    if (!group.rebalancing) return;
    for (const m of group.members.values()) if (m.waiting === undefined) return;
    group.rebalancing = false;
    group.rebalanceTimer?.();
    group.rebalanceTimer = undefined;
    const generation = ++group.generation;
    const members = [...group.members.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
    // Kafka would refuse a member asking for another protocol (INCONSISTENT_GROUP_PROTOCOL);
    // here the members are Sluice's own, which all ask alike.
    const assign = members.some((m) => m.spec.oneMember === true) ? assignToOne : assignRoundRobin;
    const shares = assign(
      members.map((m) => ({ id: m.id, topics: m.spec.topics })),
      this.partitionsOf,
    );
    const now = this.clock.now();
    this.trace(`group ${group.id} generation ${generation}: ${members.map((m) => m.id).join(' ')}`);
    for (const m of members) {
      m.generation = generation;
      m.assignment = shares.get(m.id) ?? {};
      m.lastSeen = now;
      this.watchSession(m);
      const waiting = m.waiting;
      m.waiting = undefined;
      waiting?.({ generation, assignment: m.assignment });
    }
  }

  private remove(group: Group, member: Member): void {
    group.members.delete(member.id);
    member.sessionTimer?.();
    member.sessionTimer = undefined;
    const waiting = member.waiting;
    member.waiting = undefined;
    waiting?.(null);
    member.spec.revoked();
  }

  private afterRemoval(group: Group): void {
    if (group.members.size > 0) {
      this.rebalance(group);
      this.tryComplete(group);
      return;
    }
    // The last member gone: the group is empty, in a generation of its own (as Kafka's is).
    group.rebalancing = false;
    group.rebalanceTimer?.();
    group.rebalanceTimer = undefined;
    group.generation++;
  }

  /** Expels the member once it has been silent for its session timeout. */
  private watchSession(member: Member): void {
    member.sessionTimer?.();
    const check = (): void => {
      member.sessionTimer = undefined;
      const group = this.groups.get(member.groupId);
      // Gone, or waiting in a join: Kafka keeps members awaiting a join alive.
      if (group === undefined || !group.has(member) || member.waiting !== undefined) return;
      const due = member.lastSeen + member.spec.sessionTimeoutMs;
      const now = this.clock.now();
      if (now < due) {
        member.sessionTimer = this.clock.after(due - now, check);
        return;
      }
      this.trace(`group ${group.id} session timeout expels ${member.id}`);
      this.remove(group, member);
      this.afterRemoval(group);
    };
    const delay = member.lastSeen + member.spec.sessionTimeoutMs - this.clock.now();
    member.sessionTimer = this.clock.after(delay, check);
  }
}
