import { describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/codec/registry.js';
import type { Format } from '../../src/pipeline/formats.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { DeserializationFailure, Deserializer, Serializer } from '../../src/runtime/serde.js';

// Never called for json, string or bytes: port 9 (discard) has nothing listening.
const registry = new RegistryClient({ url: 'http://127.0.0.1:9' });

const reader = (format: Format) => new Deserializer({ format, registry });
const writer = (format: 'json' | 'string' | 'bytes') =>
  new Serializer({ sink: Sinks.kafka({ topic: 'out', format }), registry });

async function rejection(run: () => unknown): Promise<unknown> {
  try {
    await run(); // a failure may be thrown at once (sync user code) or rejected
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection, got none');
}

describe('Deserializer', () => {
  it('parses json', async () => {
    expect(await reader('json').read(Buffer.from('{"a":[1,"x",null],"b":{"c":true}}'))).toEqual({
      a: [1, 'x', null],
      b: { c: true },
    });
    expect(await reader('json').read(Buffer.from('"Zoë 🚀"'))).toBe('Zoë 🚀');
    expect(await reader('json').read(Buffer.from(' 12.5 '))).toBe(12.5);
  });

  it.each(['{"a":', 'not json', '', '{"a":1}}', "{'a':1}", 'undefined'])(
    'throws DeserializationFailure for the malformed json %j',
    async (text) => {
      const err = await rejection(() => reader('json').read(Buffer.from(text)));
      expect(err).toBeInstanceOf(DeserializationFailure);
      const failure = err as DeserializationFailure;
      expect(failure.format).toBe('json');
      expect(failure.cause).toBeInstanceOf(SyntaxError);
      expect(failure.name).toBe('DeserializationFailure');
      expect(failure.message).toMatch(/^value is not valid json: /);
      expect(failure.message).toContain((failure.cause as Error).message);
    },
  );

  it('reads string values as UTF-8', async () => {
    expect(await reader('string').read(Buffer.from('héllo 東京'))).toBe('héllo 東京');
    expect(await reader('string').read(Buffer.from('{"not":"parsed"}'))).toBe('{"not":"parsed"}');
    expect(await reader('string').read(Buffer.alloc(0))).toBe('');
  });

  it('hands bytes values over as the same Buffer', async () => {
    const value = Buffer.from([0, 255, 10, 13]);
    expect(await reader('bytes').read(value)).toBe(value);
  });

  it.each(['json', 'string', 'bytes'] as const)(
    'reads a null value (tombstone) as null for %s',
    async (format) => {
      expect(await reader(format).read(null)).toBeNull();
    },
  );
});

describe('Serializer', () => {
  it('writes json', () => {
    const value = { a: [1, 'x', null], b: { c: true }, s: 'Zoë 🚀' };
    const out = writer('json').write(value);
    expect(Buffer.isBuffer(out)).toBe(true);
    expect(JSON.parse(out.toString('utf8'))).toEqual(value);
  });

  it('writes undefined as json null, so the sink always gets a value', () => {
    expect(writer('json').write(undefined).toString()).toBe('null');
    expect(writer('json').write(null).toString()).toBe('null');
  });

  it('round-trips json through the Deserializer', async () => {
    const value = { key: 'k', value: { total: 12.5, items: ['a', 'b'] } };
    expect(await reader('json').read(writer('json').write(value))).toEqual(value);
  });

  it('writes strings as UTF-8 and other values through String()', () => {
    expect(writer('string').write('héllo').toString('utf8')).toBe('héllo');
    expect(writer('string').write(42).toString()).toBe('42');
    expect(writer('string').write(null).toString()).toBe('null');
  });

  it('writes a Buffer as-is for bytes, and other values as their string form', () => {
    const b = Buffer.from([1, 2, 3]);
    expect(writer('bytes').write(b)).toBe(b);
    expect(writer('bytes').write('abc').toString()).toBe('abc');
    expect(writer('bytes').write(7).toString()).toBe('7');
  });

  it('has nothing to register for a non-avro sink', async () => {
    await expect(writer('json').ready()).resolves.toBeUndefined();
  });
});
