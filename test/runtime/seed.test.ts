import { NO_PLAN } from '../../src/domain/resume-plan.js';
import { describe, expect, it } from 'vitest';
import { compileJobConfig } from '../../src/domain/config.js';
import { isSluiceError } from '../../src/domain/errors.js';
import type { SnapshotCopy } from '../../src/domain/snapshot-copy.js';
import type { JobState } from '../../src/domain/state.js';
import { seedFromSnapshot, type SeedSpec } from '../../src/runtime/seed.js';
import { drive, memoryWorld, silent } from '../support/memory-world.js';

// Seeding refuses, with a code and the snapshot's name, a snapshot it cannot give whole: a
// pointer snapshot whose job's topics were cleaned up, a copy whose topics are gone or altered.

const from: JobState = {
  status: 'CANCELLED',
  jobId: 'old',
  name: 'old-job',
  pipeline: 'p',
  config: compileJobConfig({ name: 'old-job' }),
  submittedAt: 0,
  submittedBy: 'x',
  errorCounts: [],
  plan: NO_PLAN,
  lastSnapshot: {
    snapshotId: 's1',
    sourceOffsets: [{ topic: 'in', partition: 0, offset: '5' }],
    stateOffsets: [{ topic: 'sl.state.old.sum', partition: 0, offset: '3' }],
    at: 0,
  },
  exportedSnapshots: { snap: 's1' },
  snapshotCopies: {},
  workers: [],
  run: 1,
  version: 9,
  updatedAt: 0,
};

function spec(copy: SnapshotCopy | null): SeedSpec {
  return {
    namespace: 'sl',
    jobId: 'new',
    from,
    snapshotName: 'snap',
    copy,
    sourceTopics: ['in'],
    stages: ['sum'],
    inPlace: [],
    partitions: 1,
  };
}

async function refusal(w: ReturnType<typeof memoryWorld>, s: SeedSpec) {
  const err = await drive(w.clock, seedFromSnapshot(w.cluster.client('w1'), s, silent)).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isSluiceError(err)) throw new Error(`expected a SluiceError, got ${String(err)}`);
  return err;
}

const copy: SnapshotCopy = {
  run: 1,
  snapshotId: 's1',
  sourceOffsets: [{ topic: 'in', partition: 0, offset: '5' }],
  stages: [
    {
      stage: 'sum',
      topic: 'sl.snapshot.snap.sum',
      records: [2],
      stateOffsets: [],
      inputTopic: null,
      inputRecords: [],
    },
  ],
};

describe('seeding from an exported snapshot', () => {
  it('refuses a snapshot exported before copies whose job topics were deleted, naming them', async () => {
    const w = memoryWorld();
    w.cluster.createTopic('in', 1);
    const err = await refusal(w, spec(null));
    expect(err.code).toBe('SLUICE_SNAPSHOT_UNAVAILABLE');
    expect(err.message).toContain('Snapshot "snap"');
    expect(err.message).toContain('sl.state.old.sum');
  });

  it('refuses a copy whose topic is gone, or holds other than the export counted', async () => {
    const w = memoryWorld();
    w.cluster.createTopic('in', 1);
    const gone = await refusal(w, spec(copy));
    expect(gone.code).toBe('SLUICE_SNAPSHOT_UNAVAILABLE');
    expect(gone.message).toContain('sl.snapshot.snap.sum is gone');

    w.cluster.createTopic('sl.snapshot.snap.sum', 1, { 'cleanup.policy': 'compact' });
    const altered = await refusal(w, spec(copy));
    expect(altered.code).toBe('SLUICE_SNAPSHOT_UNAVAILABLE');
    expect(altered.message).toContain('not as the export left it');
  });
});
