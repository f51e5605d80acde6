import { describe, expect, it } from 'vitest';
import { jsonError, table } from '../../src/cli/output.js';
import { CommandRejectedError } from '../../src/domain/job-errors.js';

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

describe('jsonError', () => {
  it('has one shape for every error: code, message and details', () => {
    expect(
      jsonError(
        new CommandRejectedError('ResumeJob', 'ILLEGAL_TRANSITION', 'job is RUNNING', 'j1'),
      ),
    ).toEqual({
      error: {
        code: 'SLUICE_COMMAND_REJECTED',
        message: 'ResumeJob rejected (ILLEGAL_TRANSITION): job is RUNNING',
        details: {
          commandType: 'ResumeJob',
          rejectionCode: 'ILLEGAL_TRANSITION',
          reason: 'job is RUNNING',
          jobId: 'j1',
        },
      },
    });
    expect(jsonError(new TypeError('x is undefined'))).toEqual({
      error: { code: 'SLUICE_UNEXPECTED', message: 'x is undefined', details: {} },
    });
    expect(jsonError('thrown text')).toEqual({
      error: { code: 'SLUICE_UNEXPECTED', message: 'thrown text', details: {} },
    });
  });
});
