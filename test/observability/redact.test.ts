import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { defaultLogger } from '../../src/observability/logger.js';
import { REDACTED, redacted } from '../../src/observability/redact.js';

const SECRET = 'pw-must-not-leak-7f3a';

describe('redacted', () => {
  it('replaces passwords at any depth and keeps everything else', () => {
    const security = {
      sasl: { mechanism: 'scram-sha-256', username: 'alice', password: SECRET },
      registryAuth: { username: 'bob', password: SECRET },
      ssl: { ca: '/ca.pem' },
    };
    expect(redacted({ deep: { security } })).toEqual({
      deep: {
        security: {
          sasl: { mechanism: 'scram-sha-256', username: 'alice', password: REDACTED },
          registryAuth: { username: 'bob', password: REDACTED },
          ssl: { ca: '/ca.pem' },
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
});

describe('defaultLogger', () => {
  it('never writes a password a logged object carries, at the depths config objects have', () => {
    let out = '';
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        out += chunk.toString();
        done();
      },
    });
    const log = defaultLogger({ SLUICE_LOG_LEVEL: 'debug' }, sink);
    const sasl = { mechanism: 'plain', username: 'alice', password: SECRET };
    log.info({ password: SECRET }, 'flat');
    log.info({ sasl }, 'one level');
    log.child({ component: 'x' }).info({ security: { sasl } }, 'two levels');
    log.info({ opts: { security: { sasl } } }, 'three levels');
    log.debug({ headers: { authorization: `Basic ${SECRET}` } }, 'header');
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(5);
    expect(out).not.toContain(SECRET);
    expect(out).toContain('alice');
    expect(out.split(REDACTED).length - 1).toBe(5);
  });
});
