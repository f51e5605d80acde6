import { describe, expect, it } from 'vitest';
import { parseJsonCommand } from '../../src/codec/json-command.js';

const defaults = { commandId: 'ctl-0-17', issuedBy: 'unknown', at: 123 };

describe('parseJsonCommand', () => {
  it('fills the envelope from defaults, so a minimal operator command works', () => {
    expect(parseJsonCommand('{"type":"SuspendJob","jobId":"j1"}', defaults)).toEqual({
      type: 'SuspendJob',
      jobId: 'j1',
      ...defaults,
    });
  });

  it('keeps the envelope fields the operator gave', () => {
    const c = parseJsonCommand(
      '{"type":"CancelJob","jobId":"j1","commandId":"mine","issuedBy":"ops","at":5}',
      defaults,
    );
    expect(c).toEqual({
      type: 'CancelJob',
      jobId: 'j1',
      commandId: 'mine',
      issuedBy: 'ops',
      at: 5,
    });
  });

  it('reads a PurgeJob, which has no fields of its own', () => {
    expect(parseJsonCommand('{"type":"PurgeJob","jobId":"j1"}', defaults)).toEqual({
      type: 'PurgeJob',
      jobId: 'j1',
      ...defaults,
    });
    // Strict, like every command: an unknown field is refused, not ignored.
    expect(parseJsonCommand('{"type":"PurgeJob","jobId":"j1","force":true}', defaults)).toContain(
      'force',
    );
  });

  it('reads a RequestDryRun, and a ReportDryRun with its defaults', () => {
    expect(
      parseJsonCommand('{"type":"RequestDryRun","jobId":"j","requestId":"dry-1"}', defaults),
    ).toEqual({ type: 'RequestDryRun', jobId: 'j', requestId: 'dry-1', ...defaults });
    expect(
      parseJsonCommand(
        '{"type":"ReportDryRun","jobId":"j","requestId":"dry-1","worker":"w","outputCount":0}',
        defaults,
      ),
    ).toEqual({
      type: 'ReportDryRun',
      jobId: 'j',
      requestId: 'dry-1',
      worker: 'w',
      fingerprint: null,
      outputs: [],
      outputCount: 0,
      error: null,
      stage: null,
      ...defaults,
    });
    expect(parseJsonCommand('{"type":"RequestDryRun","jobId":"j"}', defaults)).toContain(
      'requestId',
    );
  });

  it('applies the defaults of ResumeJob', () => {
    expect(parseJsonCommand('{"type":"ResumeJob","jobId":"j"}', defaults)).toMatchObject({
      failingRecord: 'RETRY',
      deadLetterTopic: null,
      acceptDataLoss: false,
      force: false,
    });
  });

  it('keeps acceptDataLoss on a ResumeJob that gives it', () => {
    expect(
      parseJsonCommand('{"type":"ResumeJob","jobId":"j","acceptDataLoss":true}', defaults),
    ).toEqual({
      type: 'ResumeJob',
      jobId: 'j',
      failingRecord: 'RETRY',
      deadLetterTopic: null,
      acceptDataLoss: true,
      force: false,
      ...defaults,
    });
  });

  it("keeps force on a ResumeJob that gives it, and a failure's fingerprint (null when left out)", () => {
    expect(
      parseJsonCommand('{"type":"ResumeJob","jobId":"j","force":true}', defaults),
    ).toMatchObject({ type: 'ResumeJob', force: true, acceptDataLoss: false });
    const report =
      '{"type":"ReportFailure","jobId":"j","failure":{"description":"d","error":{"name":"E","message":"m"}';
    expect(parseJsonCommand(`${report},"fingerprint":"5be1c0de0a17"}}`, defaults)).toMatchObject({
      failure: { fingerprint: '5be1c0de0a17' },
    });
    expect(parseJsonCommand(`${report}}}`, defaults)).toMatchObject({
      failure: { fingerprint: null },
    });
  });

  it("keeps a report's run, and leaves it out when the report names none", () => {
    const report =
      '{"type":"ReportFailure","jobId":"j","failure":{"description":"d","error":{"name":"E","message":"m"}}';
    expect(parseJsonCommand(`${report},"run":2}`, defaults)).toMatchObject({ run: 2 });
    expect(parseJsonCommand(`${report}}`, defaults)).not.toHaveProperty('run');
    expect(
      parseJsonCommand('{"type":"ReportStarted","jobId":"j","worker":"w","run":1}', defaults),
    ).toEqual({
      type: 'ReportStarted',
      jobId: 'j',
      worker: 'w',
      run: 1,
      ...defaults,
    });
  });

  it.each([
    ['not json', /not valid JSON/],
    ['{"type":"ReportStarted","jobId":"j","worker":"w","run":0}', /run/],
    ['{"type":"ReportStarted","jobId":"j","worker":"w","run":"2"}', /run/],
    ['{"type":"SuspendJob","jobId":"j","run":2}', /run/],
    ['{"type":"Nope","jobId":"j"}', /type/],
    ['{"type":"SuspendJob"}', /jobId/],
    ['{"type":"SuspendJob","jobId":7}', /jobId/],
    ['{"type":"SuspendJob","jobId":"j","extra":1}', /extra/],
    ['{"type":"ResumeJob","jobId":"j","failingRecord":"BURN"}', /failingRecord/],
    ['{"type":"ResumeJob","jobId":"j","acceptDataLoss":"yes"}', /acceptDataLoss/],
    ['{"type":"SuspendJob","jobId":"j","acceptDataLoss":true}', /acceptDataLoss/],
    ['{"type":"ResumeJob","jobId":"j","force":"yes"}', /force/],
    [
      '{"type":"ReportSnapshot","jobId":"j","worker":"w","snapshotId":"s","sourceOffsets":[{"topic":"t","partition":0,"offset":"-1"}],"stateOffsets":[]}',
      /sourceOffsets\.0\.offset/,
    ],
  ])('rejects %s and names the problem', (text, problem) => {
    const result = parseJsonCommand(text, defaults);
    expect(typeof result).toBe('string');
    expect(result).toMatch(problem);
  });
});
