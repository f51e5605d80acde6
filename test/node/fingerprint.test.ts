import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { codeFingerprint } from '../../src/node/fingerprint.js';

describe('codeFingerprint', () => {
  const code = { pipeline: 'totals', source: 'export default { totals: () => p }', version: '1.2' };

  it('is the first 12 hex characters of the sha256 of name, version and source', () => {
    const fp = codeFingerprint(code);
    expect(fp).toMatch(/^[0-9a-f]{12}$/);
    const full = createHash('sha256')
      .update(JSON.stringify(['totals', '1.2', code.source]))
      .digest('hex');
    expect(fp).toBe(full.slice(0, 12));
    expect(codeFingerprint({ ...code })).toBe(fp);
  });

  it('changes with each part: the source, the version, the pipeline name', () => {
    const fp = codeFingerprint(code);
    expect(codeFingerprint({ ...code, source: `${code.source} ` })).not.toBe(fp);
    expect(codeFingerprint({ ...code, version: '1.3' })).not.toBe(fp);
    expect(codeFingerprint({ ...code, pipeline: 'totals2' })).not.toBe(fp);
  });

  it('keeps the parts apart, and reads an empty version as none', () => {
    expect(codeFingerprint({ pipeline: 'ab', source: 'c' })).not.toBe(
      codeFingerprint({ pipeline: 'a', source: 'bc' }),
    );
    expect(codeFingerprint({ ...code, version: '' })).toBe(
      codeFingerprint({ ...code, version: undefined }),
    );
  });
});
