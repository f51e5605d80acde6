import type { Command } from 'commander';
import type { ExportedSnapshotInfo } from '../../client/snapshots.js';
import { withClient } from '../connect.js';
import { documented } from '../help.js';
import type { GlobalOptions } from '../options.js';
import { emit, table } from '../output.js';
import { age } from '../render.js';

interface JsonFlag {
  json?: boolean;
}

/** `sluice snapshots`: one line per exported snapshot, newest first. */
export function snapshotsTable(list: ExportedSnapshotInfo[], now: number): string {
  if (list.length === 0) return 'No exported snapshots.';
  const rows = list.map((s) => [
    s.name,
    s.jobName,
    s.jobId,
    age(now - s.exportedAt),
    s.copied ? s.stages.map((x) => x.stage).join(',') || '-' : '(pointer)',
    s.copied ? String(s.stages.reduce((n, x) => n + x.records, 0)) : '?',
    s.copied ? String(s.stages.reduce((n, x) => n + x.inputRecords, 0)) : '?',
  ]);
  return table([['NAME', 'JOB', 'JOB ID', 'AGE', 'STAGES', 'RECORDS', 'UNREAD'], ...rows]);
}

/** `sluice snapshots` and `sluice snapshots delete <name>`. */
export function registerSnapshots(program: Command, globals: () => GlobalOptions): void {
  const snapshots = program
    .command('snapshots')
    .description('list exported snapshots, newest first: name, job, age, stages, record counts');
  documented(
    snapshots,
    '[ { "name", "jobId", "jobName", "snapshotId", "exportedAt": epoch ms, "exportedBy",\n    "copied": boolean (false: exported before snapshots kept their own copy),\n    "stages": [ { "stage", "records", "inputRecords" } ], "topics": [ string ] } ]',
    [
      ['sluice snapshots', 'every exported snapshot of the namespace'],
      [
        'sluice snapshots --json | jq -r \'.[] | select(.jobName == "totals") | .name\'',
        'the snapshots exported from job "totals"',
      ],
    ],
  ).action(async (o: JsonFlag) => {
    await withClient(globals(), (client) => {
      const list = client.snapshots();
      emit(o, list, () => snapshotsTable(list, Date.now()));
      return Promise.resolve();
    });
  });

  const del = snapshots
    .command('delete <name>')
    .description(
      'delete an exported snapshot and its topics; no job can start from it afterwards (jobs already started from it keep their state)',
    );
  documented(del, '{ "snapshot": string, "deleted": true }', [
    ['sluice snapshots delete totals-before-upgrade', 'the job log records the deletion'],
  ]).action(async (name: string, o: JsonFlag) => {
    await withClient(globals(), async (client) => {
      await client.deleteSnapshot(name);
      emit(o, { snapshot: name, deleted: true }, () => `Deleted snapshot "${name}"`);
    });
  });
}
