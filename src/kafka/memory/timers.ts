/** One scheduled callback of a {@link TimerQueue}. */
export interface Timer {
  /** When it is due, in the clock's milliseconds. */
  at: number;
  /** Scheduling order: breaks ties between timers due at the same time. */
  seq: number;
  fn: () => void;
  /** The period of a repeating timer; 0 for a one-shot timer. */
  every: number;
  /** False once cancelled or fired (a one-shot timer): left in the heap, skipped when popped. */
  live: boolean;
}

/**
 * The timers of a virtual clock, earliest first and, at the same time, in scheduling order.
 * A binary heap: the in-memory Kafka schedules a timer per fetch wait and per session, so a
 * simulation adds and cancels thousands. Cancelled timers stay in the heap until they reach the
 * top (lazy deletion), which keeps cancelling O(1).
 */
export class TimerQueue {
  private readonly heap: Timer[] = [];
  private seq = 0;
  /** Timers scheduled and neither fired (one-shot) nor cancelled. */
  live = 0;

  /** Schedules `fn` at `at` (every `every` ms after that, when positive). */
  add(at: number, fn: () => void, every = 0): Timer {
    const timer: Timer = { at, seq: this.seq++, fn, every, live: true };
    this.push(timer);
    this.live++;
    return timer;
  }

  /** Puts a repeating timer back, due one period later, behind the timers already scheduled. */
  repeat(timer: Timer): void {
    timer.at += timer.every;
    timer.seq = this.seq++;
    this.push(timer);
  }

  cancel(timer: Timer): void {
    if (!timer.live) return;
    timer.live = false;
    this.live--;
  }

  /** The next live timer, left in place. */
  peek(): Timer | undefined {
    this.dropDead();
    return this.heap[0];
  }

  /** Takes the next live timer out; a one-shot timer stops counting as live. */
  pop(): Timer | undefined {
    this.dropDead();
    const top = this.take();
    if (top && top.every === 0) {
      top.live = false;
      this.live--;
    }
    return top;
  }

  private dropDead(): void {
    while (this.heap[0] && !this.heap[0].live) this.take();
  }

  private take(): Timer | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    heap[0] = last;
    // Sift down.
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let min = i;
      if (l < heap.length && before(heap[l] as Timer, heap[min] as Timer)) min = l;
      if (r < heap.length && before(heap[r] as Timer, heap[min] as Timer)) min = r;
      if (min === i) break;
      [heap[i], heap[min]] = [heap[min] as Timer, heap[i] as Timer];
      i = min;
    }
    return top;
  }

  private push(timer: Timer): void {
    const heap = this.heap;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(timer, heap[parent] as Timer)) break;
      heap[i] = heap[parent] as Timer;
      heap[parent] = timer;
      i = parent;
    }
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
