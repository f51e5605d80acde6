import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import avsc from 'avsc';
import { describe, expect, it } from 'vitest';
import { eventFromAvro } from '../../src/codec/mapping.js';
import { loadSchema } from '../../src/codec/schemas.js';
import { replay } from '../../src/domain/apply.js';
import type { JobEvent } from '../../src/domain/events.js';
import { history } from '../support/archive-schemas.js';
import { AVRO_GOLDENS, HISTORIES } from '../support/record-goldens.js';

// Golden histories as the bytes each schema version wrote. The current reader must decode
// every one of them (Avro schema resolution from the archived writer schema) and replay it to
// the state the history promises: this is what protects the log across schema changes.

const opts = (): Partial<avsc.ForSchemaOptions> => ({ wrapUnions: 'auto' });
const reader = avsc.Type.forSchema(loadSchema('events/JobEvent') as avsc.Schema, opts());
const writers = new Map(
  history('events/JobEvent').map((v) => [
    v.version,
    avsc.Type.forSchema(v.schema as avsc.Schema, opts()),
  ]),
);
const files = readdirSync(AVRO_GOLDENS).filter((f) => f.endsWith('.b64'));

describe('Avro golden histories', () => {
  it('exist for every JSON golden, at least in one schema version', () => {
    const jsons = readdirSync(HISTORIES).filter((f) => f.endsWith('.json'));
    for (const j of jsons)
      expect(
        files.some((f) => f.startsWith(j.replace(/\.json$/, '.v'))),
        j,
      ).toBe(true);
  });

  it.each(files)('%s decodes with the current schema and replays to the expected state', (file) => {
    const m = /^(.*)\.v(\d+)\.b64$/.exec(file);
    const writer = writers.get(Number(m?.[2]));
    expect(writer, `schema version of ${file} is archived`).toBeDefined();
    const resolver = reader.createResolver(writer as avsc.Type);
    const lines = readFileSync(join(AVRO_GOLDENS, file), 'utf8').trim().split('\n');
    const events: JobEvent[] = lines.map((l) =>
      eventFromAvro(
        JSON.parse(JSON.stringify(reader.fromBuffer(Buffer.from(l, 'base64'), resolver))) as Record<
          string,
          unknown
        >,
      ),
    );
    const golden = JSON.parse(readFileSync(join(HISTORIES, `${m?.[1]}.json`), 'utf8')) as {
      events: JobEvent[];
      expected: Record<string, unknown>;
    };
    expect(events.map((e) => e.eventId)).toEqual(
      golden.events.filter((e) => e.type !== 'Unknown').map((e) => e.eventId),
    );
    // An Unknown event cannot be written by this version, so it is missing from the bytes and
    // the job's event count (version) is one lower; everything else must match.
    const skipped = golden.events.length - events.length;
    const expected =
      skipped > 0 && typeof golden.expected.version === 'number'
        ? { ...golden.expected, version: golden.expected.version - skipped }
        : golden.expected;
    expect(replay(events)).toMatchObject(expected);
  });
});
