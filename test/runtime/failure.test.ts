import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../../src/domain/errors.js';
import { StageFailure } from '../../src/runtime/execute.js';
import { CommitFailure, errorInfo, failureReport } from '../../src/runtime/failure.js';
import { DeserializationFailure } from '../../src/runtime/serde.js';

function message(
  value: Buffer | null,
  key: Buffer | null = Buffer.from('customer-7'),
  offset = '42',
): KafkaMessage {
  return { key, value, offset, timestamp: '1700000000000', attributes: 0, headers: {} };
}

const ELLIPSIS = '\u2026';

/** The worker's fingerprint of the failing pipeline's code. */
const FP = 'c0dec0dec0de';

describe('failureReport', () => {
  it('reports a StageFailure as user code failing in that stage, with the user error', () => {
    const cause = new TypeError('order 3 has no amount');
    const report = failureReport(
      new StageFailure('price', cause),
      'worker-a',
      'orders',
      5,
      message(Buffer.from('{"id":3}')),
      FP,
    );
    expect(report).toEqual({
      description: 'User code threw in stage "price"',
      error: { name: 'TypeError', message: 'order 3 has no amount', stack: cause.stack },
      stage: 'price',
      worker: 'worker-a',
      record: {
        topic: 'orders',
        partition: 5,
        offset: '42',
        key: 'customer-7',
        valuePreview: '{"id":3}',
      },
      fingerprint: FP,
      action: null,
    });
  });

  it('reports a StageFailure whose cause is not an Error as NonError', () => {
    const report = failureReport(
      new StageFailure('map-1', 'just a string'),
      'w',
      't',
      0,
      message(null),
      FP,
    );
    expect(report.error).toEqual({ name: 'NonError', message: 'just a string', stack: null });
    expect(report.stage).toBe('map-1');
  });

  it('reports a DeserializationFailure as the source failing, naming the format', () => {
    const cause = new SyntaxError('Unexpected token');
    const report = failureReport(
      new DeserializationFailure('avro', cause),
      'w',
      'orders',
      0,
      message(Buffer.from('garbage')),
      FP,
    );
    expect(report.stage).toBe('source');
    expect(report.description).toBe('A source record could not be read as avro');
    expect(report.error).toEqual({
      name: 'SyntaxError',
      message: 'Unexpected token',
      stack: cause.stack,
    });
  });

  it('describes a commit that kept failing, with the attempts and the time spent', () => {
    const broker = Object.assign(new Error('Connection error: ECONNREFUSED'), {
      name: 'KafkaJSConnectionError',
    });
    const report = failureReport(
      new CommitFailure(broker, 7, 61_400),
      'w',
      'orders',
      2,
      message(Buffer.from('{}')),
      FP,
    );
    expect(report.stage).toBe('sink');
    expect(report.description).toBe(
      'Writing outputs and offsets kept failing for 61 s (7 attempts); the records from this one on are not committed',
    );
    expect(report.error.name).toBe('KafkaJSConnectionError');
    expect(report.record?.partition).toBe(2);
  });

  it('reports any other error as the sink failing, with that error itself', () => {
    const err = new SluiceError('SLUICE_ENCODE_FAILED', 'field "amount" is not a double');
    const report = failureReport(err, 'w', 'orders', 1, message(Buffer.from('{}')), FP);
    expect(report.stage).toBe('sink');
    expect(report.description).toBe('A record could not be written to the sink');
    // A Sluice error is named by its stable code.
    expect(report.error.name).toBe('SLUICE_ENCODE_FAILED');
    expect(report.error.message).toBe('field "amount" is not a double');
    expect(report.error.stack).toBe(err.stack);
  });

  it("carries the code's fingerprint when the code failed on the record, and none for a commit that kept failing", () => {
    const rec = message(Buffer.from('{}'));
    const code = [
      new StageFailure('price', new TypeError('x')),
      new DeserializationFailure('json', new SyntaxError('x')),
      new SluiceError('SLUICE_ENCODE_FAILED', 'x'),
    ];
    for (const err of code) expect(failureReport(err, 'w', 't', 0, rec, FP).fingerprint).toBe(FP);
    const kafka = new CommitFailure(new Error('NOT_ENOUGH_REPLICAS'), 9, 60_000);
    expect(failureReport(kafka, 'w', 't', 0, rec, FP).fingerprint).toBeNull();
    expect(failureReport(code[0], 'w', 't', 0, rec, null).fingerprint).toBeNull();
  });

  it('reports a thrown non-Error from the sink path as NonError', () => {
    const report = failureReport(42, 'w', 'orders', 1, message(null), FP);
    expect(report.stage).toBe('sink');
    expect(report.error).toEqual({ name: 'NonError', message: '42', stack: null });
  });

  it('gives a null key and a null preview when the record has neither', () => {
    const report = failureReport(new Error('x'), 'w', 't', 0, message(null, null, '0'), FP);
    expect(report.record).toEqual({
      topic: 't',
      partition: 0,
      offset: '0',
      key: null,
      valuePreview: null,
    });
  });

  it('decodes the key as UTF-8 and keeps an empty key and value as empty strings', () => {
    const r1 = failureReport(
      new Error('x'),
      'w',
      't',
      0,
      message(Buffer.from('é'), Buffer.from('ключ')),
      FP,
    );
    expect(r1.record?.key).toBe('ключ');
    expect(r1.record?.valuePreview).toBe('é');
    const r2 = failureReport(
      new Error('x'),
      'w',
      't',
      0,
      message(Buffer.alloc(0), Buffer.alloc(0)),
      FP,
    );
    expect(r2.record?.key).toBe('');
    expect(r2.record?.valuePreview).toBe('');
  });

  it('keeps a 64-bit offset as the exact decimal string', () => {
    const report = failureReport(
      new Error('x'),
      'w',
      't',
      0,
      message(null, null, '9223372036854775807'),
      FP,
    );
    expect(report.record?.offset).toBe('9223372036854775807');
  });

  it('keeps a value of exactly 256 characters whole', () => {
    const value = 'v'.repeat(256);
    const report = failureReport(new Error('x'), 'w', 't', 0, message(Buffer.from(value)), FP);
    expect(report.record?.valuePreview).toBe(value);
  });

  it('truncates a longer value to 256 characters plus an ellipsis', () => {
    const value = 'a'.repeat(250) + 'b'.repeat(6) + 'c'.repeat(1000);
    const report = failureReport(new Error('x'), 'w', 't', 0, message(Buffer.from(value)), FP);
    expect(report.record?.valuePreview).toBe('a'.repeat(250) + 'b'.repeat(6) + ELLIPSIS);
    expect(report.record?.valuePreview).toHaveLength(257);
  });

  it('counts characters, not bytes, when truncating', () => {
    // 300 two-byte characters: 600 bytes, but only 300 characters.
    const value = 'é'.repeat(300);
    const report = failureReport(new Error('x'), 'w', 't', 0, message(Buffer.from(value)), FP);
    expect(report.record?.valuePreview).toBe('é'.repeat(256) + ELLIPSIS);
  });

  it('shows a value of 256 multi-byte characters whole', () => {
    const value = 'ü'.repeat(256);
    expect(Buffer.byteLength(value)).toBe(512);
    const report = failureReport(new Error('x'), 'w', 't', 0, message(Buffer.from(value)), FP);
    expect(report.record?.valuePreview).toBe(value);
  });
});

describe('errorInfo', () => {
  it('keeps the name, message and stack of an Error, subclass names included', () => {
    const err = new RangeError('out of range');
    expect(errorInfo(err)).toEqual({
      name: 'RangeError',
      message: 'out of range',
      stack: err.stack,
    });
  });

  it('gives a null stack when an Error has none', () => {
    const err = new Error('no stack');
    err.stack = undefined;
    expect(errorInfo(err)).toEqual({ name: 'Error', message: 'no stack', stack: null });
  });

  it.each<[unknown, string]>([
    ['text', 'text'],
    [7, '7'],
    [null, 'null'],
    [undefined, 'undefined'],
    [{ a: 1 }, '[object Object]'],
  ])('describes the non-Error %j as NonError', (value, message) => {
    expect(errorInfo(value)).toEqual({ name: 'NonError', message, stack: null });
  });

  it('uses the name a StageFailure sets', () => {
    const info = errorInfo(new StageFailure('s', new Error('inner')));
    expect(info.name).toBe('StageFailure');
    expect(info.message).toBe('stage "s" failed: inner');
  });
});
