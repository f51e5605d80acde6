import { Writable } from 'node:stream';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { emit, jsonLine, reportError } from '../../src/cli/output.js';
import { SluiceError } from '../../src/domain/errors.js';
import { defaultLogger } from '../../src/observability/logger.js';
import {
  CIRCULAR,
  REDACTED,
  redacted,
  redactLogLine,
  redactText,
  stringifyRedacted,
} from '../../src/observability/redact.js';

const SECRET = 'pw-must-not-leak-7f3a';
const PEM_KEY = `-----BEGIN PRIVATE KEY-----\nMIIEv${SECRET}QIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n`;

/** A sink that keeps what a logger writes. */
function collect(): { sink: Writable; text: () => string } {
  let out = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      out += chunk.toString();
      done();
    },
  });
  return { sink, text: () => out };
}

describe('redacted', () => {
  it('replaces passwords at any depth and keeps everything else', () => {
    const security = {
      sasl: { mechanism: 'scram-sha-256', username: 'alice', password: SECRET },
      registryAuth: { username: 'bob', password: SECRET },
      ssl: { ca: '/ca.pem', key: '/client-key.pem' },
    };
    expect(redacted({ deep: { security } })).toEqual({
      deep: {
        security: {
          sasl: { mechanism: 'scram-sha-256', username: 'alice', password: REDACTED },
          registryAuth: { username: 'bob', password: REDACTED },
          ssl: { ca: '/ca.pem', key: '/client-key.pem' }, // paths, not secrets
        },
      },
    });
    expect(security.sasl.password).toBe(SECRET); // a copy: the original still works
  });

  it('redacts Authorization headers and leaves non-objects alone', () => {
    expect(redacted({ headers: { Authorization: `Basic ${SECRET}` } })).toEqual({
      headers: { Authorization: REDACTED },
    });
    expect(redacted('text')).toBe('text');
    expect(redacted([{ password: SECRET }])).toEqual([{ password: REDACTED }]);
  });

  it('knows secrets by the end of their key, however it is spelled', () => {
    const keys = ['saslPassword', 'SLUICE_SASL_PASSWORD', 'Proxy-Authorization', 'passphrase'];
    const more = ['private_key', 'privateKey', 'clientSecret', 'pfx'];
    const input = Object.fromEntries([...keys, ...more].map((k) => [k, SECRET]));
    expect(JSON.stringify(redacted(input))).not.toContain(SECRET);
    // A record key, a certificate and a key file's path are no secrets.
    const kept = { key: 'order-17', cert: '-----BEGIN CERTIFICATE-----', keyFile: '/k.pem' };
    expect(redacted(kept)).toEqual(kept);
  });

  it('redacts far deeper than four levels, and marks a cycle instead of looping', () => {
    let deep: Record<string, unknown> = { sasl: { password: SECRET } };
    for (let i = 0; i < 50; i++) deep = { level: deep };
    expect(JSON.stringify(redacted(deep))).not.toContain(SECRET);
    const loop: Record<string, unknown> = { url: `https://u:${SECRET}@h` };
    loop.self = loop;
    loop.twice = [loop.url, loop.url];
    const out = redacted(loop);
    expect(out.self).toBe(CIRCULAR);
    expect(out.twice).toEqual(['https://u:[redacted]@h', 'https://u:[redacted]@h']);
  });

  it('redacts what an Error says, and key material in buffers', () => {
    const err = new Error(`GET https://reg:${SECRET}@registry.example/subjects failed`);
    const out = JSON.stringify(redacted({ err, key: Buffer.from(PEM_KEY) }));
    expect(out).not.toContain(SECRET);
    expect(out).toContain('https://reg:[redacted]@registry.example/subjects');
  });
});

describe('redactText', () => {
  it('keeps the user of a URL and drops its password, even one with @ or : in it', () => {
    expect(redactText(`registry https://sluice:${SECRET}@reg.example:8081/apis`)).toBe(
      'registry https://sluice:[redacted]@reg.example:8081/apis',
    );
    expect(redactText('http://u:p@ss:w@host/x')).toBe('http://u:[redacted]@host/x');
    // No credentials: untouched, a port and an @ later in the path included.
    const plain = 'http://127.0.0.1:8081/apis/ccompat/v7 and http://h:1/a@b';
    expect(redactText(plain)).toBe(plain);
  });

  it('drops PEM private keys, whole or cut short, and keeps certificates', () => {
    const cert = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';
    expect(redactText(`${cert}\n${PEM_KEY}`)).toBe(`${cert}\n[redacted private key]\n`);
    const cut = '-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkqh';
    expect(redactText(`key: ${cut}`)).toBe('key: [redacted private key]');
  });
});

describe('stringifyRedacted and redactLogLine', () => {
  it('print JSON with every secret gone, after toJSON, keys with URLs included', () => {
    const value = {
      at: new Date(0),
      endpoints: { [`https://u:${SECRET}@a`]: 'up' },
      nested: [{ registryPassword: SECRET }],
    };
    const text = stringifyRedacted(value, 2);
    expect(text).not.toContain(SECRET);
    expect(JSON.parse(text)).toEqual({
      at: '1970-01-01T00:00:00.000Z',
      endpoints: { 'https://u:[redacted]@a': 'up' },
      nested: [{ registryPassword: REDACTED }],
    });
  });

  it('leave a line without a hint of a secret as it is, and redact one that is not JSON', () => {
    const line = '{"level":30,"msg":"committed","offset":17}\n';
    expect(redactLogLine(line)).toBe(line);
    expect(redactLogLine(`not json https://u:${SECRET}@h`)).toBe('not json https://u:[redacted]@h');
  });
});

describe('defaultLogger', () => {
  it('never writes a secret a logged object, a bound field or the message carries', () => {
    const { sink, text } = collect();
    const log = defaultLogger({ SLUICE_LOG_LEVEL: 'debug' }, sink);
    const sasl = { mechanism: 'plain', username: 'alice', password: SECRET };
    log.info({ password: SECRET }, 'flat');
    log.info({ sasl }, 'one level');
    log.child({ component: 'x' }).info({ security: { sasl } }, 'two levels');
    log.info({ a: { b: { c: { d: { e: { f: { sasl } } } } } } }, 'six levels');
    log.debug({ headers: { authorization: `Basic ${SECRET}` } }, 'header');
    log.child({ registryUrl: `https://u:${SECRET}@r` }).warn(`GET https://u:${SECRET}@r failed`);
    log.error({ err: new Error(`bad ${PEM_KEY}`) }, 'with an error');
    const out = text();
    expect(out.trim().split('\n')).toHaveLength(7);
    expect(out).not.toContain(SECRET);
    expect(out).toContain('alice');
    expect(out).toContain('https://u:[redacted]@r');
    expect(out.split(REDACTED).length - 1).toBe(7);
    expect(out).toContain('bad [redacted private key]'); // in the message and in the stack
  });
});

// The property: whatever shape a logged or printed value has, no secret planted in it survives.
// Secrets are planted the ways they reach output: under a secret-named key, as a URL's password
// (with characters URL passwords may hold raw: @ : ! $ ' * + , ; = "), inside a PEM private key,
// in an Error's message, and in a key of an object; at any depth, in arrays and objects.

const secretArb = fc.stringMatching(/^[A-Za-z0-9@:!$'*+,;="._~-]{4,16}$/).map((s) => `ZQ9${s}`); // a marker no generated key or value contains: no false alarms

const secretKeyArb = fc.constantFrom(
  'password',
  'saslPassword',
  'SLUICE_REGISTRY_PASSWORD',
  'authorization',
  'passphrase',
  'privateKey',
  'client_secret',
);

/** A value carrying `s` one way or another. */
function carrier(s: string): fc.Arbitrary<unknown> {
  return fc.oneof(
    secretKeyArb.map((k) => ({ [k]: s })),
    fc.constantFrom('https', 'http', 'sasl+ssl').map((sc) => `${sc}://user:${s}@host.example/x`),
    fc.constant(`see -----BEGIN RSA PRIVATE KEY-----\nMII${s}AB\n-----END RSA PRIVATE KEY-----`),
    fc.constant(new Error(`calling https://u:${s}@registry failed`)),
    fc.constant({ [`https://u:${s}@h`]: 'a key' }),
  );
}

const keyArb = fc.stringMatching(/^[a-z]{1,8}$/);
const leafArb = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), keyArb);

/** Random nested objects and arrays, with secrets planted at random places and depths. */
const plantedArb = fc.array(secretArb, { minLength: 1, maxLength: 4 }).chain((secrets) =>
  fc
    .letrec<{ node: unknown }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leafArb,
        fc.constantFrom(...secrets).chain(carrier),
        fc.array(tie('node'), { maxLength: 4 }),
        fc.dictionary(keyArb, tie('node'), { maxKeys: 4 }),
      ),
    }))
    .node.chain((node) =>
      // Secrets the random tree left out are planted down a deep chain, deeper than any fixed
      // list of paths would reach.
      fc.integer({ min: 0, max: 40 }).map((depth) => {
        let deep: unknown = secrets.map((s) => ({
          sasl: { password: s },
          url: `https://a:${s}@b`,
        }));
        for (let i = 0; i < depth; i++) deep = { [`l${i}`]: deep };
        return { secrets, value: { node, deep } };
      }),
    ),
);

/** True when `out` holds `secret` as written or as JSON escapes it. */
function leaks(out: string, secret: string): boolean {
  return out.includes(secret) || out.includes(JSON.stringify(secret).slice(1, -1));
}

describe('redaction, as a property', () => {
  afterEach(() => vi.restoreAllMocks());

  it('no planted secret survives in the logger output, at any depth, with cycles', () => {
    fc.assert(
      fc.property(plantedArb, fc.boolean(), ({ secrets, value }, cyclic) => {
        const { sink, text } = collect();
        const log = defaultLogger({ SLUICE_LOG_LEVEL: 'debug' }, sink);
        const v = value as Record<string, unknown>;
        if (cyclic) v.self = v;
        log.info(v, `message with https://m:${secrets[0]}@host`);
        log.child({ bound: v }).warn({ err: new Error(`e https://e:${secrets[0]}@h`) }, 'bound');
        const out = text();
        expect(out.trim().split('\n')).toHaveLength(2);
        for (const s of secrets) expect(leaks(out, s), `${s} in ${out}`).toBe(false);
        for (const line of out.trim().split('\n')) JSON.parse(line); // still JSON
      }),
      { numRuns: 300 },
    );
  });

  it("no planted secret survives in the CLI's --json output, of results and of errors", () => {
    fc.assert(
      fc.property(plantedArb, ({ secrets, value }) => {
        let out = '';
        vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
          out += String(chunk);
          return true;
        });
        emit({ json: true }, value, () => '');
        jsonLine(value);
        const err = new SluiceError('SLUICE_USAGE', `bad https://x:${secrets[0]}@y`, {
          details: { value },
        });
        reportError(err, true);
        vi.restoreAllMocks();
        for (const s of secrets) expect(leaks(out, s), `${s} in ${out}`).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('no planted secret survives redacted(), and what is not secret is kept', () => {
    fc.assert(
      fc.property(plantedArb, ({ secrets, value }) => {
        const out = JSON.stringify(redacted(value));
        for (const s of secrets) expect(leaks(out, s)).toBe(false);
        expect(out).toContain('https://a:[redacted]@b'); // the user and host are kept
        expect(Object.keys(redacted(value) as object)).toEqual(['node', 'deep']);
      }),
      { numRuns: 300 },
    );
  });
});
