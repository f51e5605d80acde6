// `npm run goldens:record`: writes each golden history in test/fixtures/histories as Avro bytes
// (base64, one event per line) with the newest archived JobEvent schema, unless that file
// exists. Old files are never rewritten: they are what older Sluice versions wrote, and
// test/codec/avro-goldens.test.ts must keep reading them with the current schema.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import avsc from 'avsc';
import { eventToAvro } from '../../src/codec/mapping.js';
import type { JobEvent } from '../../src/domain/events.js';
import { history } from './archive-schemas.js';

export const HISTORIES = new URL('../fixtures/histories/', import.meta.url).pathname;
export const AVRO_GOLDENS = new URL('../fixtures/avro/', import.meta.url).pathname;

if (process.argv[1]?.endsWith('record-goldens.ts')) {
  const latest = history('events/JobEvent').at(-1);
  if (!latest) throw new Error('no archived JobEvent schema; run npm run schemas:archive');
  const type = avsc.Type.forSchema(latest.schema as avsc.Schema, { wrapUnions: 'auto' });
  for (const file of readdirSync(HISTORIES).filter((f) => f.endsWith('.json'))) {
    const out = join(AVRO_GOLDENS, file.replace(/\.json$/, `.v${latest.version}.b64`));
    if (existsSync(out)) continue;
    const { events } = JSON.parse(readFileSync(join(HISTORIES, file), 'utf8')) as {
      events: JobEvent[];
    };
    const known = events.filter((e) => e.type !== 'Unknown'); // an Unknown event cannot be written by this version
    writeFileSync(
      out,
      `${known.map((e) => type.toBuffer(eventToAvro(e)).toString('base64')).join('\n')}\n`,
    );
    process.stdout.write(`recorded ${out}\n`);
  }
}
