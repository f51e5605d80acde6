import type { Command } from 'commander';
import { withClient } from '../connect.js';
import { documented } from '../help.js';
import type { GlobalOptions } from '../options.js';
import { emit } from '../output.js';

/** What `sluice purge --help` says is deleted, and when: a purge asks no confirmation. */
const PURGE_HELP = `
A purge asks no confirmation. What it deletes, and when:
  - at once: the coordinator records a JobPurged event (who purged the job, and when; this event
    stays in the log as the audit entry) and, in the same transaction, a tombstone for every
    earlier event of the job in <ns>.jobs and the job's checkpoint without its state. Every
    reader from then on forgets the job: \`sluice status\`, \`sluice history\` and \`sluice jobs\`
    no longer show it (status and history say it was purged, by whom and when; exit code 3).
  - later: compaction deletes the tombstoned events once min.compaction.lag.ms has passed (one
    day by default on <ns>.jobs) and the segment holding them has rolled (the broker's
    log.roll.hours, a week by default); the tombstones themselves go delete.retention.ms (a day)
    after that. Until then a raw read of the topic still shows the events.
Only an ended job (COMPLETED, FAILED or CANCELLED) can be purged, and only once its exported
snapshots are deleted (\`sluice snapshots delete <name>\`); otherwise the coordinator refuses it
(SLUICE_COMMAND_REJECTED, exit code 1) and says why. The job id is never used again.`;

/** `sluice purge <job>`. */
export function registerPurge(program: Command, globals: () => GlobalOptions): void {
  const cmd = program
    .command('purge <job>')
    .description(
      'delete an ended job from the job log: its events are tombstoned, every reader forgets it',
    );
  cmd.addHelpText('after', PURGE_HELP);
  documented(
    cmd,
    '{ "jobId": string, "name": string, "purged": true, "purgedAt": epoch ms, "purgedBy": string }',
    [
      ['sluice purge totals', 'purge the ended job "totals" (the latest ended job of that name)'],
      ['sluice purge 3f2a9c0d1e4b5a67 --json', 'by id, answering with JSON'],
    ],
  ).action(async (ref: string, o: { json?: boolean }) => {
    await withClient(globals(), async (client) => {
      const job = client.getJob(ref);
      const name = job.name;
      await job.purge();
      const purge = client.purgeOf(job.id);
      emit(
        o,
        {
          jobId: job.id,
          name,
          purged: true,
          purgedAt: purge?.at ?? null,
          purgedBy: purge?.issuedBy ?? null,
        },
        () =>
          `Job ${name} (${job.id}) is purged: its events are tombstoned and compaction deletes them after min.compaction.lag.ms (a day by default); the JobPurged event stays as the audit entry.`,
      );
    });
  });
}
