import avsc from 'avsc';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadSchema } from '../../src/codec/schemas.js';
import { history, TOP_LEVEL } from '../support/archive-schemas.js';

const opts = (): Partial<avsc.ForSchemaOptions> => ({ wrapUnions: 'auto' });

/** BACKWARD: a reader with `reader` can read everything written with `writer`. */
function canRead(reader: object, writer: object): boolean {
  try {
    avsc.Type.forSchema(reader as avsc.Schema, opts()).createResolver(
      avsc.Type.forSchema(writer as avsc.Schema, opts()),
    );
    return true;
  } catch {
    return false;
  }
}

describe.each(TOP_LEVEL)('schema %s', (path) => {
  const current = loadSchema(path);
  const versions = history(path);

  it('is archived: the newest version in schemas/history equals the current schema (run `npm run schemas:archive` after a change)', () => {
    expect(versions.length).toBeGreaterThan(0);
    expect(isDeepStrictEqual(versions.at(-1)?.schema, current)).toBe(true);
  });

  it('reads data written with every version it replaces (BACKWARD)', () => {
    for (const v of versions)
      expect(canRead(current, v.schema as object), `v${v.version}`).toBe(true);
  });

  it('would catch a change that breaks old data: a new field without a default', () => {
    const broken = structuredClone(current) as { fields: { name: string; type: unknown }[] };
    broken.fields.push({ name: 'addedWithoutDefault', type: 'string' });
    expect(canRead(broken, current)).toBe(false);
  });

  it('is one self-contained schema that any Avro library can parse', () => {
    expect(() =>
      avsc.Type.forSchema(JSON.parse(JSON.stringify(current)) as avsc.Schema),
    ).not.toThrow();
  });
});
