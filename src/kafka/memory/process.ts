import type { Broker } from './broker.js';
import type { FaultOp, FaultSpec, FaultTarget } from './faults.js';
import { crashed } from './protocol.js';

/** A promise that never settles: what a crashed process's pending calls become. */
const NEVER = new Promise<never>(() => undefined);

/**
 * One simulated process's connection to the cluster (a `MemoryKafka`): where crashes and
 * stalls apply. Every request of its clients goes through {@link ClientProcess.call}.
 *
 * - Crashed: new calls throw `Error('client crashed')`; calls in flight (waiting out request
 *   latency or a stall) never settle, so the dead process's code after them never runs.
 *   Consumers stop fetching and heartbeating without leaving their groups; open transactions
 *   stay open. Nothing is undone.
 * - Stalled (a long GC pause, a network partition): calls wait, neither reaching the cluster
 *   nor returning, and consumers stop heartbeating, until `resume()`; then they go on, against
 *   whatever the cluster has become meanwhile.
 */
export class ClientProcess {
  crashed = false;
  private stall: { promise: Promise<void>; release: () => void } | undefined;
  private readonly crashHooks = new Set<() => void>();

  constructor(
    readonly name: string,
    readonly broker: Broker,
  ) {}

  /** Throws if the process crashed. */
  check(): void {
    if (this.crashed) throw crashed();
  }

  /** While stalled, what resolves on resume. */
  gate(): Promise<void> | undefined {
    return this.stall?.promise;
  }

  get stalled(): boolean {
    return this.stall !== undefined;
  }

  pause(): void {
    if (this.stall !== undefined || this.crashed) return;
    let release = (): void => undefined;
    const promise = new Promise<void>((resolve) => (release = resolve));
    this.stall = { promise, release };
    this.broker.trace(`${this.name} stalled`);
  }

  resume(): void {
    const stall = this.stall;
    this.stall = undefined;
    if (stall === undefined) return;
    this.broker.trace(`${this.name} resumed`);
    stall.release();
  }

  crash(): void {
    if (this.crashed) return;
    this.crashed = true;
    this.broker.trace(`${this.name} crashed`);
    for (const hook of this.crashHooks) hook();
    this.crashHooks.clear();
    this.resume(); // calls held by a stall now see the crash, and hang
  }

  /** Calls `fn` when the process crashes. Returns the unregistration. */
  onCrash(fn: () => void): () => void {
    this.crashHooks.add(fn);
    return () => this.crashHooks.delete(fn);
  }

  /** The fault armed for this call, if any (for work that is not a {@link call}). */
  fault(op: FaultOp, target?: FaultTarget): FaultSpec | undefined {
    return this.broker.faults.take(this.name, op, target);
  }

  /**
   * One request: fails at once if crashed; takes the armed fault, if any; waits out latency
   * and stalls; then applies `effect` (synchronously, so a request is atomic on the cluster)
   * and answers with its result, or with the fault's error (before or after the effect).
   */
  async call<T>(op: FaultOp, target: FaultTarget, effect: () => T): Promise<T> {
    this.check();
    const fault = this.fault(op, target);
    const latency = this.broker.config.requestLatencyMs;
    if (latency > 0) await this.broker.clock.sleep(latency);
    while (this.stall !== undefined) await this.stall.promise;
    if (this.crashed) return NEVER;
    if (fault !== undefined) this.broker.trace(`${this.name} ${op} fault ${errorName(fault)}`);
    if (fault !== undefined && fault.when !== 'after') throw fault.error;
    const result = effect();
    if (fault !== undefined) throw fault.error;
    return result;
  }
}

function errorName(fault: FaultSpec): string {
  return (fault.error as { type?: string }).type ?? fault.error.message;
}
