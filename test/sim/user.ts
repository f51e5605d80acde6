import type { SluiceClient } from '../../src/client/client.js';
import type { CommandPayloads, CommandType } from '../../src/domain/commands.js';
import { isSluiceError } from '../../src/domain/errors.js';
import type { JobEvent } from '../../src/domain/events.js';
import { checkFailureSnapshot } from './invariants.js';
import { PIPELINE, SINK, SOURCE, type World } from './system.js';

/** The user: a `SluiceClient` that submits the job and sends commands, retrying timeouts. */
export class User {
  readonly problems: string[] = [];
  /** Every command id the user sent (each must have exactly one outcome in the log). */
  readonly commandIds: string[] = [];
  private client: Promise<SluiceClient>;
  private jobId: Promise<string> | undefined;
  private busy = 0;

  private fixing = false;

  constructor(private readonly world: World) {
    this.client = world.connectClient();
    void this.client.then((c) => c.onEvent((e) => this.onEvent(e)));
  }

  /**
   * On a suspension due to an error: checks the failure snapshot, and when the schedule has a
   * poisoned record, deploys the fix and resumes the job (retrying the record) a little later.
   */
  private onEvent(e: JobEvent): void {
    if (e.type !== 'JobSuspendedDueToError') return;
    const record = e.cause.record;
    const failing = record && {
      jobId: e.jobId,
      partition: record.partition,
      offset: record.offset,
    };
    const problems = failing ? checkFailureSnapshot(this.world.cluster, failing) : [];
    this.problems.push(...problems);
    this.world.note(
      `job suspended on ${record ? `${record.topic}/${record.partition}@${record.offset}` : 'no record'}; ` +
        `failure snapshot ${problems.length === 0 ? 'complete' : 'INCOMPLETE'}`,
    );
    const poison = this.world.schedule.poison;
    if (!poison || this.fixing) return;
    this.fixing = true;
    this.busy++;
    this.world.clock.after(poison.fixAfterMs, () => {
      this.world.fixed = true;
      this.world.note('fix deployed');
      void this.command(
        'ResumeJob',
        { failingRecord: 'RETRY', deadLetterTopic: null, acceptDataLoss: false, force: false },
        'sim-resume-fix',
      ).finally(() => this.busy--);
    });
  }

  get idle(): boolean {
    return this.busy === 0 && this.jobId !== undefined;
  }

  async submit(): Promise<void> {
    this.busy++;
    this.jobId = this.client.then(async (c) => {
      const job = await c.submit(PIPELINE, {
        name: 'sums',
        processingGuarantee: 'EXACTLY_ONCE',
        suspendOnFailure: true,
        args: { input: SOURCE, output: SINK },
      });
      const submitted = c.getJob(job.id).history()[0];
      if (submitted) this.commandIds.push(submitted.commandId);
      this.world.note(`job ${job.id} submitted`);
      return job.id;
    });
    await this.jobId.catch((err: unknown) => this.problems.push(`submit failed: ${String(err)}`));
    this.busy--;
  }

  /** Sends a command until the coordinator answers; the same command id every time. */
  async command<K extends CommandType>(
    type: K,
    payload: CommandPayloads[K],
    commandId: string,
  ): Promise<void> {
    this.busy++;
    this.commandIds.push(commandId);
    try {
      const [client, jobId] = await Promise.all([this.client, this.jobId]);
      if (jobId === undefined) throw new Error('no job submitted');
      for (let attempt = 1; ; attempt++) {
        try {
          await client.send(jobId, type, payload, commandId);
          this.world.note(`${type} ${commandId} accepted`);
          return;
        } catch (err) {
          if (!isSluiceError(err, 'SLUICE_COMMAND_TIMEOUT') || attempt >= 5) throw err;
          this.world.note(`${type} ${commandId} timed out; sent again`);
        }
      }
    } catch (err) {
      this.problems.push(`${type} ${commandId} failed: ${String(err)}`);
    } finally {
      this.busy--;
    }
  }
}
