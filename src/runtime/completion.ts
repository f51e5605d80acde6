import type { Clock } from '../domain/clock.js';
import { COMPLETION_CHECK_MS } from '../domain/settings.js';
import { withAdmin } from '../kafka/offsets.js';
import type { Admin, Kafka } from '../kafka/port.js';
import { committedOffsets } from '../kafka/positions.js';
import type { Logger } from '../observability/logger.js';
import { includesWritten, inputEnds, shortOf, topicsOf, type HopInput } from './progress.js';

/** What watching a bounded job for its end needs. */
export interface CompletionOptions {
  kafka: Kafka;
  log: Logger;
  clock: Clock;
  /** The sources' end offsets taken when the job started, by `topic:partition`. */
  sourceEnds: Map<string, bigint>;
  hops: number;
  /** Hop i's consumer group. */
  groupOf: (i: number) => string;
  /** Hop i's repartition input, for the progress measures; undefined for the first hop. */
  inputOf: (i: number) => HopInput | undefined;
  /** True once the job failed here: it does not complete then. */
  failed: () => boolean;
  /** Reports the job complete (another worker may have already). */
  complete: () => Promise<void>;
}

/**
 * Watches a bounded job for its end, on a timer rather than on commits: the last commit may be
 * another worker's, or land while a check is running. The job is done when the first hop has
 * read every source partition to the end offset taken at start, and each later hop has read its
 * repartition topic to the end that topic had once the hop before it was done.
 */
export class CompletionCheck {
  private readonly ends: Map<string, bigint>[];
  private state: 'running' | 'checking' | 'reported' = 'running';
  private stopTimer: () => void = () => undefined;

  constructor(private readonly o: CompletionOptions) {
    this.ends = [o.sourceEnds];
  }

  start(): void {
    this.stopTimer = this.o.clock.every(COMPLETION_CHECK_MS, () => void this.check());
  }

  stop(): void {
    this.stopTimer();
  }

  private async check(): Promise<void> {
    if (this.state !== 'running' || this.o.failed()) return;
    this.state = 'checking';
    try {
      if (await withAdmin(this.o.kafka, (admin) => this.done(admin))) {
        // Done either way: another worker may have reported it already.
        this.state = 'reported';
        this.stop();
        await this.o.complete();
      }
    } catch (err) {
      this.o.log.warn({ err }, 'could not check or report completion');
    } finally {
      if (this.state === 'checking') this.state = 'running';
    }
  }

  private async done(admin: Admin): Promise<boolean> {
    const { ends } = this;
    for (let i = 0; i < this.o.hops; i++) {
      const input = this.o.inputOf(i);
      const target = ends[i] ?? (input ? await inputEnds(admin, input) : new Map<string, bigint>());
      // Not yet holding every batch this worker's hop before committed: measured again at the
      // next check.
      if (input && !includesWritten(input, target)) return false;
      ends[i] = target;
      // The group's offsets, not this worker's tasks: other workers may own partitions.
      const at = await committedOffsets(admin, this.o.groupOf(i), topicsOf(target));
      const short = shortOf(target, at);
      if (short) {
        const { id, committed, end } = short;
        this.o.log.debug(
          { hop: i, partition: id, committed: committed?.toString(), end: String(end) },
          'not done yet',
        );
        if (i > 0 && ends.length > i) ends.length = i; // re-measure later hops next time
        return false;
      }
    }
    return true;
  }
}
