import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import '../../src/kafka/kafkajs/loader.js';
import { RECORD_MARK, type RecordFields } from '../../src/kafka/kafkajs/record.js';
import { kafkajsModule, marked } from '../support/kafkajs-modules.js';

type Encode = (fields: RecordFields) => { buffer: Buffer };
const { original, loaded: ours } = kafkajsModule<Encode>('protocol/recordBatch/record/v0/index.js');

const bytes = fc.oneof(
  fc.constant(null),
  fc.string({ unit: 'grapheme', maxLength: 300 }),
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
);
const headerValue = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
);
const fields = fc.record(
  {
    offsetDelta: fc.integer({ min: 0, max: 100_000 }),
    // Beyond 32 bits too, where Sluice's encoder hands the record to kafkajs's.
    timestampDelta: fc.oneof(fc.integer(), fc.integer({ min: -(2 ** 40), max: 2 ** 40 })),
    key: bytes,
    value: bytes,
    headers: fc.dictionary(
      fc.string({ unit: 'grapheme', maxLength: 20 }),
      fc.oneof(headerValue, fc.array(headerValue, { maxLength: 3 })),
      { maxKeys: 4 },
    ),
  },
  { requiredKeys: ['offsetDelta'] },
);

describe('the record encoder', () => {
  it('writes exactly the bytes kafkajs writes, for any record', () => {
    expect(marked(original, RECORD_MARK)).toBe(false); // really kafkajs's
    fc.assert(
      fc.property(fields, (f) => {
        expect(ours(f).buffer.equals(original(f).buffer)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('encodes a typical sink record and a repartition record the same way too', () => {
    const sink = { offsetDelta: 7, timestampDelta: 0, key: 'k42', value: Buffer.from('{"n":1}') };
    const repartition = { ...sink, headers: { 'sluice-origin': '{"topic":"in","partition":0}' } };
    for (const f of [sink, repartition]) expect(ours(f).buffer).toEqual(original(f).buffer);
  });

  it('fails as kafkajs does on a header value it cannot measure', () => {
    const f = { offsetDelta: 0, key: 'k', value: 'v', headers: { h: undefined } };
    expect(() => original(f)).toThrow(TypeError);
    expect(() => ours(f)).toThrow(TypeError);
  });

  it('is the encoder kafkajs produce requests use once Sluice loaded kafkajs', () => {
    expect(marked(ours, RECORD_MARK)).toBe(true);
  });
});
