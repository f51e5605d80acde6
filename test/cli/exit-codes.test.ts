import { describe, expect, it } from 'vitest';
import { EXIT_CODES, EXIT_CODES_HELP, exitCodeFor } from '../../src/cli/exit-codes.js';
import { CommandRejectedError } from '../../src/domain/job-errors.js';
import { SluiceError } from '../../src/domain/errors.js';

describe('exitCodeFor', () => {
  it('keeps the published codes', () => {
    expect(EXIT_CODES).toEqual({
      OK: 0,
      FAILURE: 1,
      USAGE: 2,
      UNKNOWN_JOB: 3,
      DATA_LOST: 4,
      SAME_CODE: 5,
      DRY_RUN_FAILS: 6,
    });
  });

  it('decides by the error code alone', () => {
    expect(exitCodeFor(new SluiceError('SLUICE_USAGE', 'bad flag'))).toBe(2);
    expect(exitCodeFor(new SluiceError('SLUICE_JOB_NOT_FOUND', 'no job'))).toBe(3);
    expect(exitCodeFor(new SluiceError('SLUICE_SOURCE_DATA_LOST', 'records deleted'))).toBe(4);
    expect(exitCodeFor(new SluiceError('SLUICE_RESUME_SAME_CODE', 'same code'))).toBe(5);
    expect(
      exitCodeFor(new CommandRejectedError('ResumeJob', 'ILLEGAL_TRANSITION', 'no', 'j')),
    ).toBe(1);
    expect(exitCodeFor(new SluiceError('SLUICE_COMMAND_TIMEOUT', 'no answer'))).toBe(1);
    expect(exitCodeFor(new SluiceError('SLUICE_CONFIG_INVALID', 'bad file'))).toBe(1);
    expect(exitCodeFor(new Error('a bug'))).toBe(1);
  });

  it('documents every code in the help', () => {
    for (const code of Object.values(EXIT_CODES))
      expect(EXIT_CODES_HELP).toMatch(new RegExp(`^  ${code}  `, 'm'));
  });
});
