import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where downloads and local server instances live. A user cache rather than the checkout, so
 * every clone (and CI on the same machine) shares one download; override with SLUICE_CACHE_DIR.
 */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SLUICE_CACHE_DIR) return resolve(env.SLUICE_CACHE_DIR);
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg && xdg.length > 0 ? xdg : join(homedir(), '.cache'), 'sluice');
}

/** Folder holding one downloaded distribution, e.g. `kafka-4.4.0`. */
export function distDir(name: string, version: string, env?: NodeJS.ProcessEnv): string {
  return join(cacheRoot(env), 'dist', `${name}-${version}`);
}

/**
 * Folder holding the state, data and logs of local server instances. SLUICE_STATE_DIR moves it
 * alone, leaving the downloads shared; tests use that to run a private `infra up`.
 */
export function instancesDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.SLUICE_STATE_DIR ? resolve(env.SLUICE_STATE_DIR) : join(cacheRoot(env), 'instances');
}

/** The package's own root (where package.json and docker/ are), from src/ or dist/. */
export function packageRoot(): string {
  return resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
}
