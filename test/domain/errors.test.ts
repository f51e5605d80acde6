import { describe, expect, it } from 'vitest';
import { ERROR_CODES, isSluiceError, SluiceError } from '../../src/domain/errors.js';

describe('SluiceError', () => {
  it('carries a stable code, the cause, and retryability', () => {
    const cause = new Error('socket closed');
    const err = new SluiceError('SLUICE_INFRA_UNREACHABLE', 'broker down', {
      cause,
      retryable: true,
      details: { broker: 'a:1' },
    });
    expect(err).toBeInstanceOf(Error);
    expect(err.cause).toBe(cause);
    expect(isSluiceError(err, 'SLUICE_INFRA_UNREACHABLE')).toBe(true);
    expect(isSluiceError(err, 'SLUICE_INFRA_NOT_FOUND')).toBe(false);
    expect(JSON.parse(JSON.stringify(err))).toEqual({
      code: 'SLUICE_INFRA_UNREACHABLE',
      message: 'broker down',
      retryable: true,
      details: { broker: 'a:1' },
    });
  });

  it('uses only prefixed, unique codes', () => {
    expect(ERROR_CODES.every((c) => c.startsWith('SLUICE_'))).toBe(true);
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
  });
});
