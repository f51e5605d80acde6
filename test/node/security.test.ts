import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isSluiceError } from '../../src/domain/errors.js';
import { kafkaConnection } from '../../src/kafka/kafkajs/connection.js';
import { loadSecurity, registryCaOf } from '../../src/node/security.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-security-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (err) {
    return isSluiceError(err) ? err.code : 'not a SluiceError';
  }
  return undefined;
}

describe('loadSecurity', () => {
  const config = file(
    'sluice.json',
    JSON.stringify({
      sasl: { mechanism: 'scram-sha-256', username: 'file-user', password: 'file-pw' },
      registryAuth: { username: 'file-reg', password: 'file-reg-pw' },
    }),
  );

  it('reads the config file named by SLUICE_CONFIG', () => {
    expect(loadSecurity({ env: { SLUICE_CONFIG: config } })).toEqual({
      sasl: { mechanism: 'scram-sha-256', username: 'file-user', password: 'file-pw' },
      registryAuth: { username: 'file-reg', password: 'file-reg-pw' },
    });
  });

  it('lets env override the file, and flags override both, field by field', () => {
    const sec = loadSecurity({
      flags: {
        config, // --config wins over SLUICE_CONFIG, which names a file that does not exist
        saslPasswordFile: file('pw', 'flag-pw\n'),
        registryUser: 'flag-reg',
      },
      env: {
        SLUICE_CONFIG: join(dir, 'missing.json'),
        SLUICE_SASL_MECHANISM: 'scram-sha-512',
        SLUICE_SASL_PASSWORD: 'env-pw',
        SLUICE_REGISTRY_PASSWORD: 'env-reg-pw',
      },
    });
    expect(sec).toEqual({
      sasl: { mechanism: 'scram-sha-512', username: 'file-user', password: 'flag-pw' },
      registryAuth: { username: 'flag-reg', password: 'env-reg-pw' },
    });
  });

  it('takes the registry CA from --registry-ca, SLUICE_REGISTRY_CA or registryCa, in that order, and reads it', () => {
    const fromFile = file('reg.json', JSON.stringify({ registryCa: '/file-ca.pem' }));
    expect(loadSecurity({ env: { SLUICE_CONFIG: fromFile } })).toEqual({
      registryCa: '/file-ca.pem',
    });
    const env = { SLUICE_CONFIG: fromFile, SLUICE_REGISTRY_CA: '/env-ca.pem' };
    expect(loadSecurity({ env }).registryCa).toBe('/env-ca.pem');
    const pem = file('ca.pem', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const sec = loadSecurity({ flags: { registryCa: pem }, env });
    expect(sec).toEqual({ registryCa: pem });
    expect(registryCaOf(sec)).toContain('BEGIN CERTIFICATE');
    expect(registryCaOf({})).toBeUndefined();
    expect(codeOf(() => registryCaOf({ registryCa: join(dir, 'none.pem') }))).toBe(
      'SLUICE_CONFIG_INVALID',
    );
  });

  it('drops only the trailing newline of a password file', () => {
    const sec = loadSecurity({
      flags: {
        saslMechanism: 'plain',
        saslUsername: 'u',
        saslPasswordFile: file('pw2', ' two words \r\n'),
      },
      env: {},
    });
    expect(sec.sasl?.password).toBe(' two words ');
  });

  it('treats empty variables as unset', () => {
    expect(loadSecurity({ env: { SLUICE_SASL_USERNAME: '', SLUICE_TLS: '' } })).toEqual({});
  });

  it('reads SLUICE_TLS as a boolean and refuses anything else', () => {
    expect(loadSecurity({ env: { SLUICE_TLS: 'true' } }).ssl).toBe(true);
    expect(loadSecurity({ env: { SLUICE_TLS: '0' } }).ssl).toBeUndefined();
    expect(codeOf(() => loadSecurity({ env: { SLUICE_TLS: 'maybe' } }))).toBe(
      'SLUICE_CONFIG_INVALID',
    );
  });

  it('reports unreadable and malformed files as SLUICE_CONFIG_INVALID, without their text', () => {
    expect(codeOf(() => loadSecurity({ flags: { config: join(dir, 'nope.json') }, env: {} }))).toBe(
      'SLUICE_CONFIG_INVALID',
    );
    expect(
      codeOf(() => loadSecurity({ flags: { saslPasswordFile: join(dir, 'nope') }, env: {} })),
    ).toBe('SLUICE_CONFIG_INVALID');
    expect(
      codeOf(() => loadSecurity({ flags: { saslPasswordFile: file('empty', '\n') }, env: {} })),
    ).toBe('SLUICE_CONFIG_INVALID');
    const broken = file('broken.json', '{ "sasl": { "password": leaked-secret } }');
    try {
      loadSecurity({ flags: { config: broken }, env: {} });
      expect.unreachable();
    } catch (err) {
      expect(isSluiceError(err, 'SLUICE_CONFIG_INVALID')).toBe(true);
      expect((err as Error).message).toContain('is not valid JSON');
      expect((err as Error).message).not.toContain('leaked-secret');
    }
  });
});

describe('kafkaConnection', () => {
  it('is empty for plaintext', () => {
    expect(kafkaConnection(undefined)).toEqual({});
    expect(kafkaConnection({})).toEqual({});
  });

  it("gives kafkajs the mechanism and credentials, and the TLS files' contents", () => {
    const ca = file('ca.pem', '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n');
    expect(
      kafkaConnection({
        ssl: { ca, rejectUnauthorized: false },
        sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' },
        registryAuth: { username: 'r', password: 'q' },
      }),
    ).toEqual({
      ssl: {
        ca: '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n',
        rejectUnauthorized: false,
      },
      sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' },
    });
  });

  it('reports a missing TLS file by name', () => {
    expect(codeOf(() => kafkaConnection({ ssl: { ca: join(dir, 'none.pem') } }))).toBe(
      'SLUICE_CONFIG_INVALID',
    );
  });
});
