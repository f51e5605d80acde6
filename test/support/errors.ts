import { isSluiceError } from '../../src/domain/errors.js';

/** The code of the SluiceError `fn` throws, 'not a SluiceError' for another error, undefined if none. */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isSluiceError(err) ? err.code : 'not a SluiceError';
  }
  return undefined;
}
