import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { originHeaders, originOf, type Origin } from '../../src/runtime/origin.js';

const message = (headers: KafkaMessage['headers'], key: string | null = 'own-key'): KafkaMessage =>
  ({
    offset: '7',
    key: key === null ? null : Buffer.from(key),
    value: null,
    headers,
  }) as KafkaMessage;

/** Headers as a consumer hands them over: values as Buffers. */
const fetched = (h: Record<string, string>): KafkaMessage['headers'] =>
  Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Buffer.from(v)]));

describe('origin headers', () => {
  it('a repartition record carries its source record in one header, read back exactly', () => {
    const origin: Origin = {
      topic: 'orders.v2',
      partition: 3,
      offset: '1234567890123',
      key: 'ключ 🙂',
    };
    const headers = originHeaders(origin);
    expect(Object.keys(headers)).toEqual(['sluice-origin']);
    const read = originOf(
      'ns.repartition.job.sum',
      0,
      message(fetched(headers as Record<string, string>)),
    );
    expect(read).toEqual(origin);
  });

  it('keeps a null source key null', () => {
    const origin: Origin = { topic: 'in', partition: 0, offset: '0', key: null };
    const headers = fetched(originHeaders(origin) as Record<string, string>);
    expect(originOf('repartition', 1, message(headers))).toEqual(origin);
  });

  it('still reads the four headers that repartition records had before', () => {
    const headers = fetched({
      'sluice-origin-topic': 'in',
      'sluice-origin-partition': '2',
      'sluice-origin-offset': '99',
      'sluice-origin-key': 'k',
    });
    expect(originOf('repartition', 0, message(headers))).toEqual({
      topic: 'in',
      partition: 2,
      offset: '99',
      key: 'k',
    });
  });

  it('a source record without origin headers is its own origin', () => {
    expect(originOf('in', 4, message(undefined))).toEqual({
      topic: 'in',
      partition: 4,
      offset: '7',
      key: 'own-key',
    });
    expect(originOf('in', 4, message({}, null))).toEqual({
      topic: 'in',
      partition: 4,
      offset: '7',
      key: null,
    });
  });

  it.each([
    'not json',
    '{"topic":"in"}',
    '{"topic":"in","partition":"1","offset":"3","key":null}',
    'null',
  ])(
    'ignores a sluice-origin header that is not an origin (%s): the record is its own origin',
    (text) => {
      const own = originOf('in', 1, message(fetched({ 'sluice-origin': text })));
      expect(own).toEqual({ topic: 'in', partition: 1, offset: '7', key: 'own-key' });
    },
  );
});
