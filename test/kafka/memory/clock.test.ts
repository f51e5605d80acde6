import { describe, expect, it } from 'vitest';
import { VIRTUAL_EPOCH, VirtualClock } from '../../../src/kafka/memory/index.js';

describe('VirtualClock', () => {
  it('starts at its epoch and moves only when driven', async () => {
    const clock = new VirtualClock();
    expect(clock.now()).toBe(VIRTUAL_EPOCH);
    expect(new VirtualClock({ start: 5 }).now()).toBe(5);
    let fired = false;
    clock.after(10, () => (fired = true));
    await clock.settle();
    expect(fired).toBe(false);
    expect(clock.now()).toBe(VIRTUAL_EPOCH);
    await clock.advance(9);
    expect(fired).toBe(false);
    await clock.advance(1);
    expect(fired).toBe(true);
    expect(clock.now()).toBe(VIRTUAL_EPOCH + 10);
  });

  it('fires timers in time order, ties in scheduling order, each at its own time', async () => {
    const clock = new VirtualClock({ start: 0 });
    const order: string[] = [];
    clock.after(30, () => order.push(`c@${clock.now()}`));
    clock.after(10, () => order.push(`a1@${clock.now()}`));
    clock.after(20, () => order.push(`b@${clock.now()}`));
    clock.after(10, () => order.push(`a2@${clock.now()}`));
    await clock.advance(100);
    expect(order).toEqual(['a1@10', 'a2@10', 'b@20', 'c@30']);
    expect(clock.now()).toBe(100);
  });

  it('lets promise work settle between firings, so later timers see its effects', async () => {
    const clock = new VirtualClock({ start: 0 });
    const log: string[] = [];
    const worker = async (): Promise<void> => {
      await clock.sleep(5);
      log.push(`woke ${clock.now()}`);
      await Promise.resolve();
      await new Promise<void>((r) => setImmediate(r));
      log.push('chained');
      await clock.sleep(5); // scheduled at 5, so due at 10, before the timer at 12
      log.push(`again ${clock.now()}`);
    };
    const done = worker();
    clock.after(12, () => log.push('timer 12'));
    await clock.advance(20);
    await done;
    expect(log).toEqual(['woke 5', 'chained', 'again 10', 'timer 12']);
  });

  it('repeats every() until cancelled and cancels after() timers', async () => {
    const clock = new VirtualClock({ start: 0 });
    const ticks: number[] = [];
    const stop = clock.every(10, () => ticks.push(clock.now()));
    const cancelled = clock.after(15, () => ticks.push(-1));
    expect(clock.pendingTimers).toBe(2);
    cancelled();
    cancelled(); // a second cancel does nothing
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(35);
    expect(ticks).toEqual([10, 20, 30]);
    stop();
    expect(clock.pendingTimers).toBe(0);
    await clock.advance(100);
    expect(ticks).toEqual([10, 20, 30]);
    expect(() => clock.every(0, () => undefined)).toThrow(RangeError);
  });

  it('settle() fires timers already due without moving time', async () => {
    const clock = new VirtualClock({ start: 0 });
    let woke = false;
    void clock.sleep(0).then(() => (woke = true));
    await clock.settle();
    expect(woke).toBe(true);
    expect(clock.now()).toBe(0);
  });

  it('runUntil() stops as soon as the predicate holds, or at the deadline', async () => {
    const clock = new VirtualClock({ start: 0 });
    let count = 0;
    clock.every(100, () => count++);
    expect(await clock.runUntil(() => count === 3, 1_000)).toBe(true);
    expect(clock.now()).toBe(300);
    expect(await clock.runUntil(() => count === 100, 450)).toBe(false);
    expect(clock.now()).toBe(750);
    expect(count).toBe(7);
    // No timers at all: time jumps to the deadline.
    const idle = new VirtualClock({ start: 0 });
    expect(await idle.runUntil(() => false, 50)).toBe(false);
    expect(idle.now()).toBe(50);
  });

  it('sees the predicate turn true from promise work, not only from timers', async () => {
    const clock = new VirtualClock({ start: 0 });
    let done = false;
    void (async () => {
      await clock.sleep(40);
      await Promise.resolve();
      done = true;
    })();
    clock.every(1_000, () => undefined);
    expect(await clock.runUntil(() => done, 10_000)).toBe(true);
    expect(clock.now()).toBe(40);
  });

  it('refuses a second drive while one is in flight', async () => {
    const clock = new VirtualClock({ start: 0 });
    clock.after(10, () => undefined);
    const first = clock.advance(100);
    await expect(clock.settle()).rejects.toThrow(/already being driven/);
    await first;
    await clock.settle(); // free again
    expect(clock.now()).toBe(100);
  });

  it('fails a livelock at one instant instead of hanging', async () => {
    const clock = new VirtualClock({ start: 0, maxFiringsPerInstant: 50 });
    const spin = (): void => {
      clock.after(0, spin);
    };
    spin();
    await expect(clock.advance(1)).rejects.toThrow(/livelock/);
  });
});
