import { describe, expect, it } from 'vitest';
import { table } from '../../src/cli/output.js';

describe('table', () => {
  it('aligns every column but the last', () => {
    expect(
      table([
        ['id', 'status', 'name'],
        ['j-1', 'RUNNING', 'orders'],
        ['j-22', 'SUSPENDED', 'x'],
      ]),
    ).toBe(['id    status     name', 'j-1   RUNNING    orders', 'j-22  SUSPENDED  x'].join('\n'));
  });
});
