import { describe, expect, it } from 'vitest';
import { isSluiceError } from '../../src/domain/errors.js';
import { givenEndpoints, parseBrokers, parseRegistryUrl } from '../../src/infra/endpoints.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isSluiceError(err) ? err.code : 'not a SluiceError';
  }
  return undefined;
}

describe('givenEndpoints', () => {
  it('is undefined when nothing is given, so the resolver goes on looking', () => {
    expect(givenEndpoints({}, {})).toBeUndefined();
    expect(givenEndpoints({}, { SLUICE_BROKERS: '  ', SLUICE_REGISTRY_URL: '' })).toBeUndefined();
  });

  it('reads the environment, and flags win over it', () => {
    const env = { SLUICE_BROKERS: 'a:1,b:2', SLUICE_REGISTRY_URL: 'http://r:8081/' };
    expect(givenEndpoints({}, env)).toEqual({
      brokers: ['a:1', 'b:2'],
      registryUrl: 'http://r:8081',
    });
    expect(givenEndpoints({ brokers: 'c:3' }, env)).toEqual({
      brokers: ['c:3'],
      registryUrl: 'http://r:8081',
    });
  });

  it('refuses half a configuration and names the missing half', () => {
    expect(() => givenEndpoints({ brokers: 'a:1' }, {})).toThrow(
      /--registry \/ SLUICE_REGISTRY_URL is missing/,
    );
    expect(() => givenEndpoints({}, { SLUICE_REGISTRY_URL: 'http://r' })).toThrow(
      /--brokers \/ SLUICE_BROKERS is missing/,
    );
  });
});

describe('parseBrokers', () => {
  it('accepts host:port lists with spaces and IPv6 literals', () => {
    expect(parseBrokers(' localhost:9092 , 10.0.0.1:19092,[::1]:9092 ')).toEqual([
      'localhost:9092',
      '10.0.0.1:19092',
      '[::1]:9092',
    ]);
  });

  it.each([
    '',
    ',',
    'localhost',
    'localhost:0',
    'localhost:70000',
    'PLAINTEXT://localhost:9092',
    'host:port',
  ])('rejects %j with SLUICE_INFRA_BAD_ENDPOINT', (input) => {
    expect(codeOf(() => parseBrokers(input))).toBe('SLUICE_INFRA_BAD_ENDPOINT');
  });
});

describe('parseRegistryUrl', () => {
  it('normalises away trailing slashes', () => {
    expect(parseRegistryUrl('http://localhost:8080/apis/ccompat/v7/')).toBe(
      'http://localhost:8080/apis/ccompat/v7',
    );
  });

  it.each(['localhost:8081', 'ftp://x', 'not a url'])('rejects %j', (input) => {
    expect(codeOf(() => parseRegistryUrl(input))).toBe('SLUICE_INFRA_BAD_ENDPOINT');
  });
});
