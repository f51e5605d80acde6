import type { Command } from 'commander';
import type { Job } from '../../client/job.js';
import { SluiceError } from '../../domain/errors.js';
import type { JobEvent } from '../../domain/events.js';
import { withClient } from '../connect.js';
import { documented } from '../help.js';
import type { GlobalOptions } from '../options.js';
import { emit } from '../output.js';
import { progressBar, showProgress } from '../progress-bar.js';
import { jobSummary } from '../render.js';

/** Steps of an export, as the progress bar counts them. */
export const EXPORT_STEPS = ['requested', 'started', 'exported'] as const;
export type ExportStep = (typeof EXPORT_STEPS)[number];

/** What {@link exportAndWait} needs: the job, and the events the client reads from the log. */
export interface ExportDeps {
  job: Pick<Job, 'id' | 'snapshot' | 'exportSnapshot'>;
  onEvent(listener: (e: JobEvent) => void): () => void;
}

/**
 * Copies the state and asks for the export (job.exportSnapshot), and resolves with the exported
 * snapshot's id once the SnapshotExported event is in the client's view of the log. The
 * command's answer comes with its first event, SnapshotExportStarted: the export itself may be
 * read in a later batch, so the answer is not enough.
 */
export async function exportAndWait(
  deps: ExportDeps,
  name: string,
  onStep: (step: ExportStep) => void,
  timeoutMs = 30_000,
): Promise<string> {
  const exported = (): string | undefined => deps.job.snapshot().exportedSnapshots[name];
  let arrived!: () => void;
  const done = new Promise<void>((resolve) => (arrived = resolve));
  const off = deps.onEvent((e) => {
    if (e.jobId !== deps.job.id) return;
    if (e.type === 'SnapshotExportStarted' && e.name === name) onStep('started');
    if (exported() !== undefined) arrived();
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    onStep('requested');
    await deps.job.exportSnapshot(name);
    if (exported() === undefined) {
      await Promise.race([
        done,
        new Promise((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new SluiceError(
                  'SLUICE_COMMAND_TIMEOUT',
                  `The export of snapshot "${name}" was accepted, but its SnapshotExported event did not arrive within ${Math.round(timeoutMs / 1000)} s. Check \`sluice history ${deps.job.id}\`.`,
                  { retryable: true, details: { jobId: deps.job.id, snapshot: name } },
                ),
              ),
            timeoutMs,
          );
        }),
      ]);
    }
    onStep('exported');
    return exported() ?? '';
  } finally {
    clearTimeout(timer);
    off();
  }
}

/** `sluice export-snapshot <job> <name>`. */
export function registerExportSnapshot(program: Command, globals: () => GlobalOptions): void {
  const cmd = program
    .command('export-snapshot <job> <name>')
    .description(
      "copy a suspended job's state into a named snapshot of its own; new jobs can start from it",
    );
  documented(
    cmd,
    '{ "jobId", "name", "status", "snapshot": string (the export name), "snapshotId": string }',
    [
      [
        'sluice suspend totals && sluice export-snapshot totals totals-before-upgrade',
        'copy the state of the suspended job "totals"; waits until the export is in the job log',
      ],
      [
        'sluice submit order-totals --name totals-v2 --initial-snapshot totals-before-upgrade',
        'then start a new job (new code, say) from it',
      ],
    ],
  ).action(async (ref: string, name: string, o: { json?: boolean }) => {
    await withClient(globals(), async (client) => {
      const job = client.getJob(ref);
      const bar = progressBar({ enabled: showProgress(o), label: `export "${name}"` });
      let snapshotId: string;
      try {
        snapshotId = await exportAndWait({ job, onEvent: (l) => client.onEvent(l) }, name, (step) =>
          bar.update(
            EXPORT_STEPS.indexOf(step),
            EXPORT_STEPS.length - 1,
            `export "${name}": ${step}`,
          ),
        );
      } finally {
        bar.finish();
      }
      emit(
        o,
        { ...jobSummary(job), snapshot: name, snapshotId },
        () => `Exported snapshot ${snapshotId} of ${job.name} as "${name}"`,
      );
    });
  });
}
