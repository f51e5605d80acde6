/**
 * Redaction of secrets from everything Sluice prints or logs. Three kinds of secret are found:
 *
 * - **by key name**, at any depth: a key that, lower-cased and without `-` or `_`, ends in
 *   `password`, `passphrase`, `authorization`, `secret` or `privatekey`, or is `pfx`
 *   (`password`, `saslPassword`, `SLUICE_SASL_PASSWORD`, `Proxy-Authorization`, `private_key`);
 *   the whole value goes, whatever its type;
 * - **credentials inside URLs**, in any string: `https://user:pw@host` becomes
 *   `https://user:[redacted]@host` (the user name stays: it says who logged in);
 * - **private keys**, in any string or buffer: a PEM block `-----BEGIN ... PRIVATE KEY-----`.
 *
 * Certificates and CA certificates are public and stay, as do the paths of key files (a path is
 * not the key). A field merely named `key` is not redacted by name, because Kafka record keys
 * are logged under that name; TLS key material under it is still caught by its PEM form.
 */

/** What stands in for a secret in logs and printed output. */
export const REDACTED = '[redacted]';

/** What stands in for an object met again inside itself. */
export const CIRCULAR = '[circular]';

const SECRET_SUFFIXES = ['password', 'passphrase', 'authorization', 'secret', 'privatekey'];

/** True for a key whose value is a secret wherever it appears (see the module's comment). */
export function isSecretKey(key: string): boolean {
  const k = key.toLowerCase().replace(/[-_]/g, '');
  return k === 'pfx' || SECRET_SUFFIXES.some((s) => k.endsWith(s));
}

/**
 * `scheme://user:password@`: the password runs to the last `@` before the path, as a URL parser
 * reads it, so a password with a raw `@` in it is not half left behind.
 */
const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/)([^\s:@/?#]*):([^\s/?#]*)@/gi;

/** A PEM private key (PKCS#1, PKCS#8, encrypted, EC...), or its start up to the text's end. */
const PEM_PRIVATE_KEY =
  /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g;

/** `text` with URL passwords and PEM private keys replaced. */
export function redactText(text: string): string {
  return text
    .replace(URL_CREDENTIALS, `$1$2:${REDACTED}@`)
    .replace(PEM_PRIVATE_KEY, `[redacted private key]`);
}

/**
 * A deep copy of `value` with every secret replaced (see the module's comment), at any depth.
 * An object met again inside itself becomes {@link CIRCULAR}. Errors become plain objects with
 * their name, message, stack and own fields, so what they say is redacted too.
 */
export function redacted<T>(value: T): T {
  return redact(value, new Set()) as T;
}

function redact(value: unknown, open: Set<object>): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  if (Buffer.isBuffer(value)) return holdsPrivateKey(value) ? REDACTED : value;
  if (open.has(value)) return CIRCULAR;
  open.add(value);
  try {
    if (Array.isArray(value)) return value.map((v) => redact(v, open));
    const source: Record<string, unknown> =
      value instanceof Error
        ? { ...value, name: value.name, message: value.message, stack: value.stack }
        : (value as Record<string, unknown>);
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(source)) {
      out[redactText(key)] = isSecretKey(key) && v !== undefined ? REDACTED : redact(v, open);
    }
    return out;
  } finally {
    // Only the path from the root counts: the same object twice side by side is no cycle.
    open.delete(value);
  }
}

function holdsPrivateKey(buf: Buffer): boolean {
  return buf.includes('PRIVATE KEY-----');
}

/**
 * `JSON.stringify(value, null, space)` with every secret redacted, for printed output. It works
 * on what JSON would print (after `toJSON`), and throws on a cycle as JSON.stringify does.
 */
export function stringifyRedacted(value: unknown, space?: number): string {
  return JSON.stringify(
    value,
    function (this: unknown, key: string, v: unknown): unknown {
      if (key !== '' && isSecretKey(key) && v !== undefined) return REDACTED;
      if (typeof v === 'string') return redactText(v);
      if (isPlainRecord(v)) return withRedactedKeys(v);
      // JSON.stringify has already turned a Buffer into { type: 'Buffer', data } by now.
      if (isBufferJson(v) && holdsPrivateKey(Buffer.from(v.data))) return REDACTED;
      return v;
    },
    space,
  );
}

function isPlainRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A URL with a password can be a key too (a map of endpoints, say): renamed, values kept. */
function withRedactedKeys(v: Record<string, unknown>): Record<string, unknown> {
  const keys = Object.keys(v);
  if (keys.every((k) => redactText(k) === k)) return v;
  return Object.fromEntries(keys.map((k) => [redactText(k), v[k]]));
}

function isBufferJson(v: unknown): v is { type: 'Buffer'; data: number[] } {
  return (
    typeof v === 'object' &&
    v !== null &&
    (v as { type?: unknown }).type === 'Buffer' &&
    Array.isArray((v as { data?: unknown }).data)
  );
}

/** Hints of a secret, looked for in a log line without its `-` and `_` (as key names are). */
const HINT = /password|passphrase|authorization|secret|private ?key|pfx|:\/\//i;

/**
 * One line of JSON log output with every secret redacted. Lines without a hint of one are
 * passed on untouched; a line that is not JSON is redacted as text.
 */
export function redactLogLine(line: string): string {
  if (!HINT.test(line.replace(/[-_]/g, ''))) return line;
  const end = line.endsWith('\n') ? '\n' : '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return redactText(line);
  }
  return `${stringifyRedacted(parsed)}${end}`;
}
