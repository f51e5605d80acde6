import { describe, expect, it } from 'vitest';
import { isSluiceError, type SluiceError } from '../../src/domain/errors.js';
import {
  compileSecurity,
  fileLayer,
  type SecurityLayer,
  type SecuritySettings,
} from '../../src/domain/security.js';

const flags = (settings: SecuritySettings): SecurityLayer => ({ source: 'flags', settings });
const env = (settings: SecuritySettings): SecurityLayer => ({ source: 'env', settings });

function failure(run: () => unknown): SluiceError {
  try {
    run();
  } catch (err) {
    if (isSluiceError(err)) return err;
    throw err;
  }
  throw new Error('expected a SluiceError');
}

describe('compileSecurity', () => {
  it('is plaintext when nothing is set', () => {
    expect(compileSecurity([flags({}), env({})])).toEqual({});
  });

  it('takes each field from the first layer that sets it: flags, then env, then the file', () => {
    const file = fileLayer(
      { sasl: { mechanism: 'plain', username: 'file-user', password: 'file-pw' } },
      'c.json',
    );
    const sec = compileSecurity([
      flags({ saslUsername: 'flag-user' }),
      env({ saslMechanism: 'scram-sha-512', saslUsername: 'env-user' }),
      file,
    ]);
    expect(sec.sasl).toEqual({
      mechanism: 'scram-sha-512',
      username: 'flag-user',
      password: 'file-pw',
    });
  });

  it('accepts Kafka-style upper-case mechanism names', () => {
    const sec = compileSecurity([
      env({ saslMechanism: 'SCRAM-SHA-256', saslUsername: 'u', saslPassword: 'p' }),
    ]);
    expect(sec.sasl?.mechanism).toBe('scram-sha-256');
  });

  it('refuses half-given SASL settings, naming what is missing and where to set it', () => {
    const err = failure(() =>
      compileSecurity([env({ saslMechanism: 'plain', saslPassword: 'pw' })]),
    );
    expect(err.code).toBe('SLUICE_CONFIG_INVALID');
    expect(err.message).toContain('SASL is half configured: the username is missing');
    expect(err.message).toContain('--sasl-username, SLUICE_SASL_USERNAME or sasl.username');
    expect(err.details.problems).toHaveLength(1);
  });

  it('lists every problem in one error, without echoing any password', () => {
    const err = failure(() =>
      compileSecurity([
        flags({ saslMechanism: 'kerberos', saslUsername: 'u', saslPassword: 'hunter2-secret' }),
        env({ registryPassword: 'registry-secret', tlsCert: '/c.pem' }),
      ]),
    );
    expect(err.details.problems).toEqual([
      expect.stringContaining('SASL mechanism "kerberos" (from --sasl-mechanism) is not one of'),
      expect.stringContaining('Registry basic auth is half configured: the username is missing'),
      expect.stringContaining('the client key file is missing; give --tls-key, SLUICE_TLS_KEY'),
    ]);
    expect(JSON.stringify(err.toJSON())).not.toMatch(/hunter2-secret|registry-secret/);
  });

  it('turns TLS on with --tls alone, or with any TLS file', () => {
    expect(compileSecurity([flags({ tls: true })]).ssl).toBe(true);
    expect(compileSecurity([env({ tlsCa: '/ca.pem' })]).ssl).toEqual({ ca: '/ca.pem' });
  });

  it('refuses TLS files while TLS is switched off', () => {
    const err = failure(() => compileSecurity([env({ tls: false, tlsCa: '/ca.pem' })]));
    expect(err.message).toContain('TLS is off (SLUICE_TLS) but TLS settings are given');
  });

  it('keeps registry basic auth apart from the broker settings', () => {
    const sec = compileSecurity([
      flags({ registryUsername: 'reg' }),
      env({ registryPassword: 'pw' }),
    ]);
    expect(sec).toEqual({ registryAuth: { username: 'reg', password: 'pw' } });
  });
});

describe('fileLayer', () => {
  it('flattens a whole file', () => {
    const layer = fileLayer(
      {
        ssl: { ca: '/ca.pem', rejectUnauthorized: false },
        sasl: { mechanism: 'scram-sha-256', username: 'u', password: 'p' },
        registryAuth: { username: 'r', password: 'q' },
      },
      'c.json',
    );
    expect(compileSecurity([layer])).toEqual({
      ssl: { ca: '/ca.pem', rejectUnauthorized: false },
      sasl: { mechanism: 'scram-sha-256', username: 'u', password: 'p' },
      registryAuth: { username: 'r', password: 'q' },
    });
  });

  it('reads ssl: false as TLS off, so env cannot add TLS files behind its back', () => {
    expect(fileLayer({ ssl: false }, 'c.json').settings).toEqual({ tls: false });
    expect(compileSecurity([fileLayer({ ssl: true }, 'c.json')]).ssl).toBe(true);
  });

  it('names unknown keys and wrong types by path, and what the file may hold', () => {
    const err = failure(() =>
      fileLayer(
        {
          brokers: 'a:1',
          sasl: { mechanism: 'plain', user: 'u', password: 42 },
          ssl: 'yes',
        },
        'c.json',
      ),
    );
    expect(err.code).toBe('SLUICE_CONFIG_INVALID');
    expect(err.message).toContain('Config file c.json is invalid');
    expect(err.message).toContain('unknown key(s) "brokers" at the top level');
    expect(err.message).toContain('unknown key(s) "user" at sasl');
    expect(err.message).toMatch(/sasl\.password: .*expected string/i);
    expect(err.message).toMatch(/ssl: /);
    expect(err.message).toContain('It may hold only ssl');
  });

  it('refuses a file that is not an object', () => {
    expect(failure(() => fileLayer([1, 2], 'c.json')).code).toBe('SLUICE_CONFIG_INVALID');
  });
});
