import { describe, expect, it } from 'vitest';
import { SluiceError } from '../../src/domain/errors.js';
import { FORMATS } from '../../src/pipeline/formats.js';
import { Pipeline, type PipelineDef } from '../../src/pipeline/pipeline.js';
import { Sinks, type KafkaSinkOptions } from '../../src/pipeline/sinks.js';
import { Sources, type KafkaSourceOptions } from '../../src/pipeline/sources.js';
import { isStateful, type StageDef } from '../../src/pipeline/stages.js';

const source = () => Sources.kafka({ topic: 'in' });
const sink = () => Sinks.kafka({ topic: 'out' });

/** Runs `fn` and returns what it threw, failing the test if it did not throw. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw, got none');
}

function expectConfigInvalid(fn: () => unknown, message?: RegExp): SluiceError {
  const err = thrown(fn);
  expect(err).toBeInstanceOf(SluiceError);
  const e = err as SluiceError;
  expect(e.code).toBe('SLUICE_CONFIG_INVALID');
  if (message) expect(e.message).toMatch(message);
  return e;
}

function names(def: PipelineDef): string[] {
  return def.stages.map((s) => s.name);
}

function kinds(def: PipelineDef): StageDef['kind'][] {
  return def.stages.map((s) => s.kind);
}

describe('Pipeline builder: stage names', () => {
  it('derives names from the kind and the 1-based position', () => {
    const def = Pipeline.create()
      .readFrom<number>(source())
      .map((n) => n + 1)
      .filter((n) => n > 0)
      .flatMap((n) => [n, n])
      .map((n) => String(n))
      .writeTo(sink());
    expect(names(def)).toEqual(['map-1', 'filter-2', 'flatMap-3', 'map-4']);
    expect(kinds(def)).toEqual(['map', 'filter', 'flatMap', 'map']);
  });

  it('counts named and stateful stages when deriving later positions', () => {
    const def = Pipeline.create()
      .readFrom<number>(source())
      .map((n) => n, { name: 'parse' })
      .groupingKey((n) => n % 2)
      .aggregate({ name: 'totals', init: () => 0, add: (s, n) => s + n })
      .filter(() => true)
      .writeTo(sink());
    expect(names(def)).toEqual(['parse', 'totals', 'filter-3']);
  });

  it('keeps given names as they are', () => {
    const def = Pipeline.create()
      .readFrom(source())
      .map((v) => v, { name: 'Parse.v2_x-1' })
      .filter(() => true, { name: 'drop-empty' })
      .flatMap((v) => [v], { name: 'explode' })
      .writeTo(sink());
    expect(names(def)).toEqual(['Parse.v2_x-1', 'drop-empty', 'explode']);
  });

  it('stores the user functions unchanged', () => {
    const f = (v: unknown) => v;
    const key = (v: unknown) => String(v);
    const def = Pipeline.create()
      .readFrom(source())
      .map(f)
      .groupingKey(key)
      .mapWithState({
        name: 'seen',
        init: () => 0,
        fn: (s: number) => [s + 1, undefined],
      });
    const built = def.writeTo(sink());
    const [map, seen] = built.stages;
    expect(map).toMatchObject({ kind: 'map', fn: f });
    expect(seen?.kind).toBe('mapWithState');
    if (seen?.kind !== 'mapWithState') throw new Error('unreachable');
    // groupingKey stringifies whatever the user key function returns.
    expect(seen.key(42, null)).toBe('42');
    expect(seen.init()).toBe(0);
    expect(isStateful(seen)).toBe(true);
    expect(isStateful(map as StageDef)).toBe(false);
  });

  it('groupingKey stringifies numeric keys', () => {
    const def = Pipeline.create()
      .readFrom<{ id: number }>(source())
      .groupingKey((o) => o.id)
      .aggregate({ name: 'count', init: () => 0, add: (s) => s + 1 })
      .writeTo(sink());
    const stage = def.stages[0];
    if (stage?.kind !== 'aggregate') throw new Error('expected an aggregate');
    expect(stage.key({ id: 7 }, null)).toBe('7');
  });

  it.each([
    ['empty', ''],
    ['a space', 'has space'],
    ['a slash', 'a/b'],
    ['a leading dot', '.hidden'],
    ['a leading dash', '-x'],
    ['a NUL', 'a\u0000b'],
    ['non-ASCII letters', 'größe'],
    ['over 200 characters', 'a'.repeat(201)],
  ])('rejects a stage name with %s', (_what, bad) => {
    const build = Pipeline.create().readFrom(source());
    expectConfigInvalid(() => build.map((v) => v, { name: bad }), /Stage name/);
    expectConfigInvalid(() => build.filter(() => true, { name: bad }), /Stage name/);
    expectConfigInvalid(() => build.flatMap((v) => [v], { name: bad }), /Stage name/);
    const keyed = build.groupingKey(() => 'k');
    expectConfigInvalid(() => keyed.aggregate({ name: bad, init: () => 0, add: (s) => s }));
    expectConfigInvalid(() =>
      keyed.mapWithState({ name: bad, init: () => 0, fn: (s) => [s, undefined] }),
    );
  });

  it('rejects a non-string name from untyped user code', () => {
    const build = Pipeline.create().readFrom(source());
    expectConfigInvalid(() => build.map((v) => v, { name: 42 as unknown as string }));
    expectConfigInvalid(() =>
      build
        .groupingKey(() => 'k')
        .aggregate({ name: undefined as unknown as string, init: () => 0, add: (s) => s }),
    );
  });

  it('accepts a 200-character name', () => {
    const name = 'a'.repeat(200);
    const def = Pipeline.create()
      .readFrom(source())
      .map((v) => v, { name })
      .writeTo(sink());
    expect(names(def)).toEqual([name]);
  });

  it('rejects two stages with the same given name at writeTo', () => {
    const stream = Pipeline.create()
      .readFrom(source())
      .map((v) => v, { name: 'twice' })
      .filter(() => true, { name: 'twice' });
    expectConfigInvalid(() => stream.writeTo(sink()), /"twice"/);
  });

  it('rejects a given name that collides with a derived one', () => {
    const stream = Pipeline.create()
      .readFrom(source())
      .map((v) => v)
      .map((v) => v, { name: 'map-1' });
    expectConfigInvalid(() => stream.writeTo(sink()), /"map-1"/);
  });

  it('rejects a stateful stage named like another stage', () => {
    const stream = Pipeline.create()
      .readFrom(source())
      .map((v) => v, { name: 'totals' })
      .groupingKey(() => 'k')
      .aggregate({ name: 'totals', init: () => 0, add: (s) => s });
    expectConfigInvalid(() => stream.writeTo(sink()), /"totals"/);
  });

  it('does not let a branch change the stream it was built from', () => {
    const base = Pipeline.create()
      .readFrom(source())
      .map((v) => v);
    const a = base.filter(() => true).writeTo(sink());
    const b = base.flatMap((v) => [v]).writeTo(sink());
    expect(names(a)).toEqual(['map-1', 'filter-2']);
    expect(names(b)).toEqual(['map-1', 'flatMap-2']);
    expect(names(base.writeTo(sink()))).toEqual(['map-1']);
  });

  it('returns a stage list the caller cannot use to change the stream', () => {
    const stream = Pipeline.create()
      .readFrom(source())
      .map((v) => v);
    const first = stream.writeTo(sink());
    first.stages.push(first.stages[0] as StageDef);
    expect(names(stream.writeTo(sink()))).toEqual(['map-1']);
  });

  it('carries the source and sink through', () => {
    const src = Sources.kafka({ topics: ['a', 'b'], format: 'string', bounded: true });
    const snk = Sinks.kafka({ topic: 'out', format: 'bytes' });
    const def = Pipeline.create().readFrom(src).writeTo(snk);
    expect(def).toEqual({ source: src, stages: [], sinks: [snk] });
  });
});

describe('Sources.kafka', () => {
  it('defaults to json, unbounded, for a single topic', () => {
    expect(Sources.kafka({ topic: 'orders' })).toEqual({
      kind: 'kafka',
      topics: ['orders'],
      format: 'json',
      bounded: false,
    });
  });

  it('takes a list of topics, a format and bounded', () => {
    expect(Sources.kafka({ topics: ['a', 'b'], format: 'avro', bounded: true })).toEqual({
      kind: 'kafka',
      topics: ['a', 'b'],
      format: 'avro',
      bounded: true,
    });
  });

  it.each(FORMATS)('accepts the %s format', (format) => {
    expect(Sources.kafka({ topic: 't', format }).format).toBe(format);
  });

  it.each<[string, unknown]>([
    ['no topic at all', {}],
    ['an empty topic', { topic: '' }],
    ['an empty topics list', { topics: [] }],
    ['an empty name in topics', { topics: ['a', ''] }],
    ['a non-string in topics', { topics: ['a', 3] }],
  ])('rejects %s', (_what, opts) => {
    expectConfigInvalid(() => Sources.kafka(opts as KafkaSourceOptions), /Sources\.kafka/);
  });

  it('rejects an unknown format, naming it and the known ones', () => {
    const err = expectConfigInvalid(() =>
      Sources.kafka({ topic: 't', format: 'protobuf' as unknown as 'json' }),
    );
    expect(err.message).toContain('Sources.kafka');
    expect(err.message).toContain('"protobuf"');
    expect(err.message).toContain('json, string, bytes, avro');
  });
});

describe('Sinks.kafka', () => {
  it('defaults to json with no key and no schema', () => {
    expect(Sinks.kafka({ topic: 'out' })).toEqual({
      kind: 'kafka',
      topic: 'out',
      format: 'json',
      key: undefined,
      schema: undefined,
    });
  });

  it('keeps the key function and the schema', () => {
    const key = (v: { id: string }) => v.id;
    const schema = { type: 'record', name: 'R', fields: [] };
    const def = Sinks.kafka({ topic: 'out', format: 'avro', key, schema });
    expect(def.format).toBe('avro');
    expect(def.schema).toBe(schema);
    expect(def.key?.({ id: 'x' })).toBe('x');
  });

  it.each(['json', 'string', 'bytes'] as const)('needs no schema for %s', (format) => {
    expect(Sinks.kafka({ topic: 'out', format }).format).toBe(format);
  });

  it('rejects avro without a schema', () => {
    expectConfigInvalid(() => Sinks.kafka({ topic: 'out', format: 'avro' }), /avro.*schema/);
  });

  it.each<[string, unknown]>([
    ['no topic', {}],
    ['an empty topic', { topic: '' }],
    ['a non-string topic', { topic: 5 }],
  ])('rejects %s', (_what, opts) => {
    expectConfigInvalid(() => Sinks.kafka(opts as KafkaSinkOptions), /Sinks\.kafka/);
  });

  it('rejects an unknown format', () => {
    expectConfigInvalid(
      () => Sinks.kafka({ topic: 'out', format: 'xml' as unknown as 'json' }),
      /Sinks\.kafka: format "xml"/,
    );
  });
});

describe('Pipeline builder: groupByKey and emit', () => {
  it('groupByKey keys by the source record key, and refuses a record without one', () => {
    const def = Pipeline.create()
      .readFrom<{ n: number }>(source())
      .groupByKey()
      .aggregate({ name: 'count', init: () => 0, add: (s) => s + 1 })
      .writeTo(sink());
    const stage = def.stages[0];
    if (stage?.kind !== 'aggregate') throw new Error('expected an aggregate');
    expect(stage.byRecordKey).toBe(true);
    expect(stage.emit).toBe('update');
    expect(stage.key({ n: 1 }, 'k1')).toBe('k1');
    expect(() => stage.key({ n: 1 }, null)).toThrow(/has no key.*groupingKey/);
  });

  it('groupByKey refuses to follow a stateful stage, and a source of several topics', () => {
    const counted = Pipeline.create()
      .readFrom<{ n: number }>(source())
      .groupingKey((r) => r.n)
      .aggregate({ name: 'count', init: () => 0, add: (s) => s + 1 });
    expect(() => counted.groupByKey()).toThrow(/before any other stateful stage.*groupingKey/);
    try {
      counted.groupByKey();
    } catch (err) {
      expect((err as { code?: string }).code).toBe('SLUICE_CONFIG_INVALID');
    }
    const two = Pipeline.create().readFrom(Sources.kafka({ topics: ['a', 'b'] }));
    expect(() => two.groupByKey()).toThrow(/needs a single source topic \(got 2\)/);
  });

  it("takes emit: 'commit', and names a bad emit value", () => {
    const keyed = Pipeline.create()
      .readFrom<{ n: number }>(source())
      .groupingKey((r) => r.n);
    const def = keyed
      .aggregate({ name: 'count', init: () => 0, add: (s) => s + 1, emit: 'commit' })
      .writeTo(sink());
    expect(def.stages[0]).toMatchObject({ kind: 'aggregate', emit: 'commit', byRecordKey: false });
    expect(() =>
      keyed.aggregate({
        name: 'count',
        init: () => 0,
        add: (s) => s + 1,
        emit: 'sometimes' as 'commit',
      }),
    ).toThrow(/aggregate "count": emit must be one of 'update', 'commit', not "sometimes"/);
  });
});
