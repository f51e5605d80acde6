import { describe, expect, it } from 'vitest';
import { codeOf } from '../support/errors.js';
import { apiError, parseAction } from '../../src/console/actions.js';
import { SluiceError } from '../../src/domain/errors.js';
import { CommandRejectedError } from '../../src/domain/job-errors.js';

describe('parseAction', () => {
  it('reads each action with the fields it needs', () => {
    expect(parseAction({ action: 'resume' })).toEqual({ action: 'resume' });
    expect(parseAction({ action: 'dead-letter', deadLetterTopic: ' dlt ' })).toEqual({
      action: 'dead-letter',
      deadLetterTopic: 'dlt',
    });
    expect(parseAction({ action: 'export-snapshot', name: 'v1' })).toEqual({
      action: 'export-snapshot',
      name: 'v1',
    });
    expect(parseAction({ action: 'update-config', delta: { snapshotIntervalMs: 500 } })).toEqual({
      action: 'update-config',
      delta: { snapshotIntervalMs: 500 },
    });
  });

  it('refuses an unknown action, or one missing what it needs, as SLUICE_USAGE', () => {
    expect(codeOf(() => parseAction({ action: 'purge' }))).toBe('SLUICE_USAGE');
    expect(codeOf(() => parseAction(null))).toBe('SLUICE_USAGE');
    expect(codeOf(() => parseAction({ action: 'dead-letter' }))).toBe('SLUICE_USAGE');
    expect(codeOf(() => parseAction({ action: 'dead-letter', deadLetterTopic: ' ' }))).toBe(
      'SLUICE_USAGE',
    );
    expect(codeOf(() => parseAction({ action: 'export-snapshot' }))).toBe('SLUICE_USAGE');
    expect(codeOf(() => parseAction({ action: 'update-config', delta: {} }))).toBe('SLUICE_USAGE');
  });
});

describe('apiError', () => {
  it("answers a refusal with 409 and the coordinator's code and reason", () => {
    const err = new CommandRejectedError('ExportSnapshot', 'NO_SNAPSHOT', 'no snapshot yet', 'j1');
    expect(apiError(err)).toEqual({
      status: 409,
      body: {
        error: {
          code: 'SLUICE_COMMAND_REJECTED',
          message: 'ExportSnapshot rejected (NO_SNAPSHOT): no snapshot yet',
          rejectionCode: 'NO_SNAPSHOT',
          reason: 'no snapshot yet',
        },
      },
    });
  });

  it('maps codes to statuses and never shows a password', () => {
    expect(apiError(new SluiceError('SLUICE_USAGE', 'bad')).status).toBe(400);
    expect(apiError(new SluiceError('SLUICE_JOB_NOT_FOUND', 'gone')).status).toBe(404);
    expect(apiError(new SluiceError('SLUICE_COMMAND_TIMEOUT', 'slow')).status).toBe(504);
    const leaky = apiError(new Error('cannot reach http://bob:hunter2@registry:8081'));
    expect(leaky.status).toBe(500);
    expect(leaky.body.error.message).toBe('cannot reach http://bob:[redacted]@registry:8081');
  });
});
