import { readFileSync } from 'node:fs';
import { SluiceError } from '../domain/errors.js';
import { PROCESSING_GUARANTEES, type ProcessingGuarantee } from '../domain/status.js';

// Flag values are checked here, before anything connects: a typo fails at once as SLUICE_USAGE
// (exit code 2), naming the flag and the value.

/** Commander's collector for a repeatable flag. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `--arg k=v` pairs as an object; the value may itself contain "=". */
export function keyValues(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i <= 0) throw new SluiceError('SLUICE_USAGE', `--arg "${p}" is not key=value.`);
    out[p.slice(0, i)] = p.slice(i + 1);
  }
  return out;
}

/** `none`, `at-least-once` or `exactly-once`, any case, as the config's constant. */
export function guarantee(raw: string): ProcessingGuarantee {
  const g = raw.toUpperCase().replace(/-/g, '_');
  if ((PROCESSING_GUARANTEES as readonly string[]).includes(g)) return g as ProcessingGuarantee;
  throw new SluiceError(
    'SLUICE_USAGE',
    `--guarantee "${raw}" is not one of none, at-least-once, exactly-once.`,
    { details: { '--guarantee': raw } },
  );
}

/** A whole number of milliseconds. */
export function integer(flag: string, raw: string): number {
  if (!/^\d+$/.test(raw))
    throw new SluiceError(
      'SLUICE_USAGE',
      `${flag} "${raw}" is not a whole number of milliseconds.`,
      { details: { [flag]: raw } },
    );
  return Number(raw);
}

/**
 * A flag's JSON value, given inline or as `@file`. Unreadable or not JSON: SLUICE_USAGE naming
 * the flag; what the value must hold is checked by the config it goes into.
 */
export function jsonValue(flag: string, raw: string): unknown {
  let text = raw;
  if (raw.startsWith('@')) {
    try {
      text = readFileSync(raw.slice(1), 'utf8');
    } catch (err) {
      throw new SluiceError(
        'SLUICE_USAGE',
        `${flag} ${raw}: cannot read the file (${err instanceof Error ? err.message : String(err)}).`,
        { details: { [flag]: raw } },
      );
    }
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new SluiceError(
      'SLUICE_USAGE',
      `${flag} is not JSON (${err instanceof Error ? err.message : String(err)}). Give the JSON inline, quoted, or as @file.json.`,
      { details: { [flag]: raw } },
    );
  }
}

/** `true` or `false`, nothing else: "yes" or "1" would be a guess. */
export function bool(flag: string, raw: string): boolean {
  if (raw === 'true' || raw === 'false') return raw === 'true';
  throw new SluiceError('SLUICE_USAGE', `${flag} "${raw}" is not true or false.`, {
    details: { [flag]: raw },
  });
}
