// `npm run schemas:archive`: records the current top-level schemas in schemas/history/ when
// they changed, as the next version. test/codec/schemas.test.ts then proves every change stays
// BACKWARD compatible with every version it replaces.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { loadSchema, SCHEMAS_DIR } from '../../src/codec/schemas.js';

export const TOP_LEVEL = ['events/JobEvent', 'commands/Command'] as const;

/** The archived versions of a top-level schema, oldest first. */
export function history(path: string): { version: number; file: string; schema: unknown }[] {
  const dir = join(SCHEMAS_DIR, 'history', path);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((f) => /^v(\d+)\.avsc$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({
      version: Number(m[1]),
      file: join(dir, m[0]),
      schema: JSON.parse(readFileSync(join(dir, m[0]), 'utf8')) as unknown,
    }))
    .sort((a, b) => a.version - b.version);
}

if (process.argv[1]?.endsWith('archive-schemas.ts')) {
  for (const path of TOP_LEVEL) {
    const current = loadSchema(path);
    const versions = history(path);
    const latest = versions.at(-1);
    if (latest && isDeepStrictEqual(latest.schema, current)) {
      process.stdout.write(`${path}: unchanged (v${latest.version})\n`);
      continue;
    }
    const version = (latest?.version ?? 0) + 1;
    const dir = join(SCHEMAS_DIR, 'history', path);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `v${version}.avsc`), `${JSON.stringify(current, null, 2)}\n`);
    process.stdout.write(`${path}: archived as v${version}\n`);
  }
}
