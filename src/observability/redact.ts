/** What stands in for a secret in logs and printed output. */
export const REDACTED = '[redacted]';

/** Keys whose values are secrets wherever they appear (compared case-insensitively). */
const SECRET_KEYS = new Set(['password', 'authorization']);

/**
 * pino `redact` paths. pino's wildcards match one level each, so the usual depths are spelled
 * out: `{ password }`, `{ sasl: { password } }`, `{ security: { sasl: { password } } }`.
 */
export const REDACT_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  '*.*.*.password',
  'authorization',
  '*.authorization',
  '*.*.authorization',
];

/**
 * A deep copy of `value` with every secret replaced by {@link REDACTED}, for printing settings
 * (e.g. `--json` output) or logging them at any depth.
 */
export function redacted<T>(value: T): T {
  return redact(value) as T;
}

function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = SECRET_KEYS.has(key.toLowerCase()) && v !== undefined ? REDACTED : redact(v);
  }
  return out;
}
