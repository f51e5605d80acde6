import { readFile } from 'node:fs/promises';
import { extname, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SluiceError } from '../domain/errors.js';

/**
 * Where the build puts the page (`npm run build`: src/console/page compiled, its HTML and CSS
 * copied). Two levels up from this module is the package root whether it runs from src/ (tsx)
 * or from dist/, so both find the built page.
 */
export const ASSET_DIR = fileURLToPath(new URL('../../dist/console/static/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** A built asset: its bytes and content type, or undefined when there is no such file. */
export async function readAsset(
  path: string,
  dir = ASSET_DIR,
): Promise<{ body: Buffer; type: string } | undefined> {
  const type = TYPES[extname(path)];
  const rel = normalize(path).replace(/^([/\\])+/, '');
  // Only files under the asset folder, of the kinds the page is made of.
  if (!type || rel.startsWith('..') || rel.includes(`${sep}..`)) return undefined;
  try {
    return { body: await readFile(`${dir}${rel}`), type };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Fails at start, not on the first page load, when the page was never built. */
export async function checkAssets(dir = ASSET_DIR): Promise<void> {
  if (!(await readAsset('index.html', dir)))
    throw new SluiceError(
      'SLUICE_USAGE',
      `The console's page is not built (no ${dir}index.html). Run \`npm run build\` first.`,
    );
}
