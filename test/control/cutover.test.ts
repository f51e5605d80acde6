import { describe, expect, it } from 'vitest';
import { cutoverMetadata, offsetsToCommit, parseCutover } from '../../src/control/cutover.js';
import { topicNames } from '../../src/domain/resources.js';

// Where reports on the control topic stop being trusted (src/control/cutover.ts): kept in the
// control offset's commit metadata, committed with every batch of either topic.

const T = topicNames('ns');

describe('the reports cut-over', () => {
  it('round-trips through commit metadata, and reads nothing from metadata of others', () => {
    expect(parseCutover(cutoverMetadata(42n))).toBe(42n);
    expect(parseCutover(cutoverMetadata(0n))).toBe(0n);
    for (const other of [
      null,
      undefined,
      '',
      '{"errors":1}',
      'sluice-reports-cutover=',
      'sluice-reports-cutover=-1',
    ])
      expect(parseCutover(other)).toBeUndefined();
  });

  it('is committed with the control offset after a batch of either topic', () => {
    const at = { cutover: 7n, control: 10n };
    expect(offsetsToCommit(T, at, 'control', 12n)).toEqual([
      { topic: T.control, partition: 0, offset: '12', metadata: cutoverMetadata(7n) },
    ]);
    expect(offsetsToCommit(T, at, 'reports', 3n)).toEqual([
      { topic: T.control, partition: 0, offset: '10', metadata: cutoverMetadata(7n) },
      { topic: T.reports, partition: 0, offset: '3' },
    ]);
  });
});
