import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  changelogKey,
  changelogTopic,
  jobGroup,
  parseChangelogKey,
} from '../../src/domain/resources.js';

/** Kafka topic names: letters, digits, ".", "_" and "-", 1 to 249 characters. */
const arbTopic = fc.stringMatching(/^[A-Za-z0-9._-]{1,40}$/);

describe('topic and group names', () => {
  it('names a stage changelog and a job group under the namespace', () => {
    expect(changelogTopic('sluice', 'j-1', 'totals')).toBe('sluice.state.j-1.totals');
    expect(jobGroup('sluice', 'j-1')).toBe('sluice.job.j-1');
  });
});

describe('changelogKey / parseChangelogKey', () => {
  it('round-trips a plain key', () => {
    expect(parseChangelogKey(changelogKey('orders', 2, 'alice'))).toEqual({
      topic: 'orders',
      partition: 2,
      key: 'alice',
    });
  });

  it.each([
    ['an empty key', ''],
    ['a key containing the separator', 'a\u0000b'],
    ['a key that is only separators', '\u0000\u0000'],
    ['a key ending with the separator', 'a\u0000'],
    ['a key with spaces and punctuation', ' a:b/c@d '],
    ['a non-ASCII key', 'Zoë 東京 🚀'],
    ['a key with an astral character', '\u{1F600}'],
  ])('round-trips %s', (_what, key) => {
    expect(parseChangelogKey(changelogKey('t.x_y-1', 0, key))).toEqual({
      topic: 't.x_y-1',
      partition: 0,
      key,
    });
  });

  it('round-trips through the UTF-8 bytes a Kafka record key carries', () => {
    const raw = Buffer.from(changelogKey('orders', 11, 'ключ\u0000🙂'), 'utf8');
    expect(parseChangelogKey(raw.toString())).toEqual({
      topic: 'orders',
      partition: 11,
      key: 'ключ\u0000🙂',
    });
  });

  it('round-trips any topic name, partition and key', () => {
    fc.assert(
      fc.property(
        arbTopic,
        fc.nat({ max: 100_000 }),
        fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' })),
        (topic, partition, key) => {
          expect(parseChangelogKey(changelogKey(topic, partition, key))).toEqual({
            topic,
            partition,
            key,
          });
        },
      ),
    );
  });

  it('gives different raw keys for different (topic, partition, key)', () => {
    fc.assert(
      fc.property(
        fc.tuple(arbTopic, fc.nat(5), fc.string()),
        fc.tuple(arbTopic, fc.nat(5), fc.string()),
        (a, b) => {
          fc.pre(a[0] !== b[0] || a[1] !== b[1] || a[2] !== b[2]);
          expect(changelogKey(...a)).not.toBe(changelogKey(...b));
        },
      ),
    );
  });

  it.each([
    ['a key with no separator', 'plain-key'],
    ['a key with one separator', 'orders\u00001'],
    ['an empty string', ''],
  ])('returns undefined for %s', (_what, raw) => {
    expect(parseChangelogKey(raw)).toBeUndefined();
  });

  // Keys another writer made must not be read as Sluice keys: an empty partition would
  // otherwise read as partition 0 and load into a real task.
  it.each([
    ['a non-numeric partition', 'orders\u0000x\u0000k'],
    ['an empty partition', 'orders\u0000\u0000k'],
  ])('returns undefined for a key with %s', (_what, raw) => {
    expect(parseChangelogKey(raw)).toBeUndefined();
  });
});
