import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkAssets, readAsset } from '../../src/console/assets.js';
import { codeOf } from '../support/errors.js';

const dir = `${mkdtempSync(join(tmpdir(), 'console-assets-'))}/`;
mkdirSync(`${dir}static/page`, { recursive: true });
writeFileSync(`${dir}static/index.html`, '<!doctype html>');
writeFileSync(`${dir}static/page/main.js`, 'export {}');
writeFileSync(`${dir}secret.js`, 'nope');
const root = `${dir}static/`;

describe('readAsset', () => {
  it("serves the page's files with their types", async () => {
    expect(await readAsset('index.html', root)).toMatchObject({ type: 'text/html; charset=utf-8' });
    const js = await readAsset('/page/main.js', root);
    expect(js?.type).toBe('text/javascript; charset=utf-8');
    expect(js?.body.toString()).toBe('export {}');
  });

  it('serves nothing outside its folder, nothing of another kind, and no missing file', async () => {
    expect(await readAsset('../secret.js', root)).toBeUndefined();
    expect(await readAsset('page/../../secret.js', root)).toBeUndefined();
    expect(await readAsset('page/main.ts', root)).toBeUndefined();
    expect(await readAsset('page/none.js', root)).toBeUndefined();
  });

  it('fails at start, naming the build, when the page was not built', async () => {
    await expect(checkAssets(root)).resolves.toBeUndefined();
    const error = await checkAssets(`${dir}empty/`).catch((err: unknown) => err);
    expect(
      codeOf(() => {
        throw error;
      }),
    ).toBe('SLUICE_USAGE');
  });
});
