import { describe, expect, it } from 'vitest';
import type { ExportedSnapshotInfo } from '../../../src/client/snapshots.js';
import { snapshotsTable } from '../../../src/cli/commands/snapshots.js';

const copied: ExportedSnapshotInfo = {
  name: 'before-upgrade',
  jobId: '3f2a9c0d1e4b5a67',
  jobName: 'totals',
  snapshotId: 's-9',
  exportedAt: 1_000,
  exportedBy: 'alice',
  copied: true,
  stages: [
    { stage: 'sum', records: 40, inputRecords: 2 },
    { stage: 'count', records: 5, inputRecords: 0 },
  ],
  topics: ['sl.snapshot.before-upgrade.sum', 'sl.snapshot.before-upgrade.count'],
};

describe('sluice snapshots', () => {
  it('lists each snapshot with its job, age, stages and record counts', () => {
    const out = snapshotsTable([copied], 61_000);
    expect(out.split('\n')[0]).toMatch(/^NAME +JOB +JOB ID +AGE +STAGES +RECORDS +UNREAD/);
    expect(out).toMatch(/before-upgrade +totals +3f2a9c0d1e4b5a67 +\S+ +sum,count +45 +2/);
  });

  it('says a snapshot exported before copies is a pointer, with counts unknown', () => {
    const out = snapshotsTable([{ ...copied, copied: false, stages: [], topics: [] }], 61_000);
    expect(out).toMatch(/\(pointer\) +\? +\?/);
  });

  it('says when there are none', () => {
    expect(snapshotsTable([], 0)).toBe('No exported snapshots.');
  });
});
