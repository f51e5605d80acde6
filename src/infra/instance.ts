import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { instancesDir } from './paths.js';
import { isAlive, stopProcess } from './process.js';

const run = promisify(execFile);

/** The instance `sluice infra up` starts and later commands find. */
export const SHARED_INSTANCE = 'default';

/** What is recorded on disk about a local broker + registry pair. */
export interface InstanceState {
  name: string;
  dir: string;
  source: 'java' | 'docker';
  /** The pid whose exit ends this instance (a test run); null for `infra up`'s, which outlive their starter. */
  owner: number | null;
  pids: number[];
  containers: string[];
  watchdog?: number | undefined;
  brokers: string[];
  registryUrl: string;
  ready: boolean;
  startedAt: string;
}

/** The folder of a named instance. */
export function instanceDir(name: string, env?: NodeJS.ProcessEnv): string {
  return join(instancesDir(env), name);
}

/** Writes the state atomically, so a reader never sees half a file. */
export function writeState(state: InstanceState): void {
  mkdirSync(state.dir, { recursive: true });
  const file = join(state.dir, 'state.json');
  writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2));
  renameSync(`${file}.tmp`, file);
}

/** Reads an instance's state; undefined when missing or unreadable. */
export function readState(dir: string): InstanceState | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as InstanceState;
  } catch {
    return undefined;
  }
}

/** True while every server process of the instance still runs. */
export function processesAlive(state: InstanceState): boolean {
  return state.pids.length > 0 && state.pids.every((pid) => isAlive(pid, state.dir));
}

/** Stops every server of the instance (cleanly, then by force) and removes its folder. */
export async function stopInstance(state: InstanceState, graceMs = 20000): Promise<void> {
  if (state.watchdog !== undefined && isAlive(state.watchdog)) {
    try {
      process.kill(state.watchdog, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  await Promise.all(state.pids.map((pid) => stopProcess(pid, graceMs, state.dir)));
  for (const id of state.containers) {
    await run('docker', ['rm', '-f', '-v', id]).catch(() => undefined);
  }
  rmSync(state.dir, { recursive: true, force: true });
}

/**
 * Removes what earlier runs left behind: instances whose owner died (a test run killed midway,
 * if its watchdog was killed too), shared instances whose servers died, and folders of starts
 * that crashed before writing any state. Runs before every local start.
 */
export async function reapStale(env?: NodeJS.ProcessEnv): Promise<void> {
  const root = instancesDir(env);
  if (!existsSync(root)) return;
  for (const name of readdirSync(root)) {
    const dir = join(root, name);
    const state = readState(dir);
    if (!state) {
      // No state yet: maybe a start in progress in another process. Only old leftovers go.
      if (Date.now() - statSync(dir).mtimeMs > 10 * 60_000)
        rmSync(dir, { recursive: true, force: true });
      continue;
    }
    const ownerGone = state.owner !== null && !isAlive(state.owner);
    const serversGone = state.ready && state.source === 'java' && !processesAlive(state);
    if (ownerGone || serversGone) await stopInstance(state, 5000);
  }
}
