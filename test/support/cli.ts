import { spawn, type ChildProcess } from 'node:child_process';
import { ROOT } from './spawn.js';

/** A finished run of the built CLI, with its stdout parsed as JSON when it is JSON. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout as JSON; undefined when it is not JSON (human output, or nothing). */
  json: unknown;
}

/** Starts the built CLI (dist/cli/main.js), as a user's `npx sluice` does. */
export function startCli(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, ['dist/cli/main.js', ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs the built CLI to completion. */
export function runSluice(args: string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = startCli(args, env);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      let json: unknown;
      try {
        json = JSON.parse(stdout);
      } catch {
        json = undefined;
      }
      resolve({ code, stdout, stderr, json });
    });
  });
}

/** The `--json` error every command prints on failure. */
export interface CliError {
  error: { code: string; message: string; details: Record<string, unknown> };
}

/**
 * Collects a long-running child's stdout line by line, so a test can wait for the line it
 * expects while the child keeps running.
 */
export class LineReader {
  readonly lines: string[] = [];
  stderr = '';
  private buffer = '';
  private waiters: (() => void)[] = [];

  constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (d: Buffer) => {
      this.buffer += d.toString();
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        this.lines.push(this.buffer.slice(0, nl));
        this.buffer = this.buffer.slice(nl + 1);
      }
      this.wake();
    });
    child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    child.on('exit', () => this.wake());
  }

  /** Resolves with the first line matching `test`, or rejects after `timeoutMs`. */
  async waitFor(test: (line: string) => boolean, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find(test);
      if (found !== undefined) return found;
      if (this.child.exitCode !== null || this.child.signalCode !== null)
        throw new Error(`exited (${this.child.exitCode}) first; stderr: ${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `no matching line within ${timeoutMs} ms; lines: ${this.lines.join('\n')}; stderr: ${this.stderr}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Sends `signal` and resolves with the exit code, or the signal's name if one ended it. */
  async stop(signal: NodeJS.Signals = 'SIGINT'): Promise<number | string | null> {
    // Either is set once the child has exited: by itself, or by a signal.
    if (this.child.exitCode !== null) return this.child.exitCode;
    if (this.child.signalCode !== null) return this.child.signalCode;
    const exited = new Promise<number | string | null>((resolve) =>
      this.child.once('exit', (code, sig) => resolve(code ?? sig)),
    );
    this.child.kill(signal);
    return exited;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
