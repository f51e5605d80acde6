import { describe, expect, it } from 'vitest';
import { shortOf } from '../../src/runtime/progress.js';
import { StateStore } from '../../src/runtime/state-store.js';
import type { Task } from '../../src/runtime/task.js';

const task = (committed: string | undefined): Task => ({
  topic: 'r',
  partition: 0,
  state: new StateStore(),
  committed,
  errorCounts: [],
});
const ends = new Map([
  ['r:0', 10n],
  ['r:1', 20n],
]);

describe('shortOf: the first partition not committed up to its end', () => {
  it('is undefined once the group has committed every partition to its end or past it', () => {
    expect(
      shortOf(
        ends,
        new Map([
          ['r:0', '10'],
          ['r:1', '21'],
        ]),
      ),
    ).toBeUndefined();
  });

  it('names a partition the group has no offset for, and one behind its end', () => {
    expect(shortOf(ends, new Map([['r:1', '20']]))).toEqual({
      id: 'r:0',
      committed: undefined,
      end: 10n,
    });
    expect(
      shortOf(
        ends,
        new Map([
          ['r:0', '10'],
          ['r:1', '19'],
        ]),
      ),
    ).toEqual({
      id: 'r:1',
      committed: 19n,
      end: 20n,
    });
  });

  it("counts this worker's task with its own commit when that is newer than the group's", () => {
    const stored = new Map([
      ['r:0', '3'],
      ['r:1', '20'],
    ]);
    expect(shortOf(ends, stored, new Map([['r:0', task('10')]]))).toBeUndefined();
    // An older task offset does not hide a newer group offset, nor an unknown one a known one.
    expect(
      shortOf(
        ends,
        new Map([
          ['r:0', '10'],
          ['r:1', '20'],
        ]),
        new Map([
          ['r:0', task('2')],
          ['r:1', task(undefined)],
        ]),
      ),
    ).toBeUndefined();
    expect(shortOf(ends, stored, new Map([['r:0', task('9')]]))).toEqual({
      id: 'r:0',
      committed: 9n,
      end: 10n,
    });
  });
});
