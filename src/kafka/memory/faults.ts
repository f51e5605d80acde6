import type { Admin } from '../port.js';

/**
 * The operations a fault can be injected into: the port's calls (`connect` a plain producer's,
 * `send` a plain or transactional send, `offsetCommit` a consumer's commit or auto-commit,
 * `heartbeat` the one a batch asks for or the consumer's own, `fetch` a consumer's fetch, `join`
 * its start) and each admin call as `admin.<method>`.
 */
export type FaultOp =
  | 'connect'
  | 'init'
  | 'begin'
  | 'send'
  | 'sendOffsets'
  | 'commit'
  | 'abort'
  | 'offsetCommit'
  | 'heartbeat'
  | 'fetch'
  | 'join'
  | `admin.${keyof Admin}`;

/** What a call is about, for faults aimed at one topic, group or transactional id. */
export interface FaultTarget {
  topics?: readonly string[];
  groupId?: string;
  transactionalId?: string;
}

/** A failure to inject into the next call(s) that match. */
export interface FaultSpec {
  op: FaultOp;
  /** Only calls through clients of this name. */
  client?: string;
  /** Only calls about this topic (sends: any of their topics; fetches: the partition's). */
  topic?: string;
  /** Only calls about this group (offset commits, heartbeats, fetches, `sendOffsets`). */
  groupId?: string;
  /** Only calls of producers with this transactional id. */
  transactionalId?: string;
  /** What the call fails with: a `KafkaProtocolError` to look like the broker's answer. */
  error: Error;
  /**
   * `before` (default): the call fails and changes nothing. `after`: it takes effect, then
   * fails as if its answer was lost (a commit that committed, a send that was written).
   */
  when?: 'before' | 'after';
  /** How many matching calls fail. Default 1. */
  times?: number;
  /**
   * For `fetch` only: the consumer gives up, as kafkajs does on an error it cannot retry: it
   * leaves the group, stops, and reports the error to `onCrash`.
   */
  fatal?: boolean;
}

interface Armed {
  spec: FaultSpec;
  left: number;
}

/** The faults armed on a cluster, taken by the first calls that match, in arming order. */
export class Faults {
  private armed: Armed[] = [];

  add(spec: FaultSpec): void {
    this.armed.push({ spec, left: spec.times ?? 1 });
  }

  /** Faults not yet used up. */
  get pending(): number {
    return this.armed.length;
  }

  clear(): void {
    this.armed = [];
  }

  /** The fault this call is to fail with, if one matches (and counts it used). */
  take(client: string, op: FaultOp, target: FaultTarget = {}): FaultSpec | undefined {
    if (this.armed.length === 0) return undefined;
    const i = this.armed.findIndex(({ spec: s }) => {
      if (s.op !== op || (s.client !== undefined && s.client !== client)) return false;
      if (s.topic !== undefined && !(target.topics ?? []).includes(s.topic)) return false;
      if (s.groupId !== undefined && s.groupId !== target.groupId) return false;
      return s.transactionalId === undefined || s.transactionalId === target.transactionalId;
    });
    const hit = this.armed[i];
    if (hit === undefined) return undefined;
    if (--hit.left <= 0) this.armed.splice(i, 1);
    return hit.spec;
  }
}
