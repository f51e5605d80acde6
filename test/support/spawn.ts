import { spawn, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The environment for child processes: the caller's, minus endpoints that would short-cut discovery. */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.SLUICE_BROKERS;
  delete env.SLUICE_REGISTRY_URL;
  return env;
}

/** Result of a finished child process. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a TypeScript entry point of this repository (through tsx) to completion. */
export function runTs(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
  return collect(spawnTs(script, args, env));
}

function collect(child: ChildProcess): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs the built CLI (dist/cli/main.js), as a user's `npx sluice` does. */
export function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
  return collect(
    spawn(process.execPath, ['dist/cli/main.js', ...args], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
}

/** Starts a TypeScript entry point of this repository (through tsx). */
export function spawnTs(script: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Resolves with the first line the child prints on stdout. */
export function firstLine(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let err = '';
    const timer = setTimeout(
      () => reject(new Error(`no output within ${timeoutMs} ms; stderr: ${err}`)),
      timeoutMs,
    );
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(buf.slice(0, nl));
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before printing; stderr: ${err}`));
    });
  });
}

/**
 * A `sluice worker` process (the built CLI) hosting the pipelines of `module`, without a
 * coordinator. SLUICE_TEST_WORKER_LOGS=dir keeps each worker's structured log, for a failed run.
 */
export function spawnCliWorker(module: string, id: string, env: NodeJS.ProcessEnv): ChildProcess {
  const logs = process.env.SLUICE_TEST_WORKER_LOGS;
  return spawn(
    process.execPath,
    ['dist/cli/main.js', 'worker', module, '--worker-id', id, '--no-coordinator'],
    {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'ignore', logs ? openSync(`${logs}/${id}.log`, 'w') : 'ignore'],
    },
  );
}
