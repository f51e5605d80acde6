import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { SluiceError } from '../domain/errors.js';

/** A server process started in its own process group, with output going to a log file. */
export interface ServiceProcess {
  pid: number;
  /** Set once the process has exited; lets readiness checks fail fast on a crash. */
  exitCode(): number | null | undefined;
}

/**
 * Starts `command` detached in its own process group, so a Ctrl-C aimed at the CLI or the test
 * runner does not kill servers that `infra up` means to leave running; owned servers are tied
 * to their owner by {@link startWatchdog} instead.
 */
export function spawnService(
  command: string,
  args: string[],
  opts: { cwd: string; logFile: string; env?: NodeJS.ProcessEnv },
): ServiceProcess {
  const log = openSync(opts.logFile, 'a');
  try {
    const child = spawn(command, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      detached: true,
      stdio: ['ignore', log, log],
    });
    if (child.pid === undefined) throw new Error(`could not start ${command}`);
    let code: number | null | undefined;
    child.on('exit', (c, signal) => {
      code = c ?? (signal ? -1 : null);
    });
    child.on('error', () => {
      code = -1;
    });
    child.unref();
    return { pid: child.pid, exitCode: () => code };
  } finally {
    closeSync(log);
  }
}

/**
 * True when `pid` runs and, where /proc exists, its command line mentions `marker`; the marker
 * guards against a recycled pid belonging to some unrelated process.
 */
export function isAlive(pid: number, marker?: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM means it exists but belongs to someone else: not ours.
    return (err as NodeJS.ErrnoException).code === 'EPERM' && marker === undefined;
  }
  if (marker === undefined) return true;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
  } catch {
    return true; // no /proc (macOS): trust kill(0)
  }
}

/** Sends SIGTERM to the process group, waits up to `graceMs`, then SIGKILL. */
export async function stopProcess(pid: number, graceMs: number, marker?: string): Promise<void> {
  if (!isAlive(pid, marker)) return;
  signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid, marker)) return;
    await sleep(100);
  }
  signalGroup(pid, 'SIGKILL');
  for (let i = 0; i < 50 && isAlive(pid, marker); i++) await sleep(100);
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

/**
 * Starts a tiny detached shell that waits for `ownerPid` to die and then stops `pids` and
 * removes `dir`. This is what keeps a test run killed with SIGKILL from leaving a broker behind.
 */
export function startWatchdog(ownerPid: number, pids: number[], dir: string): number | undefined {
  const script = [
    'owner=$1; dir=$2; shift 2',
    'while kill -0 "$owner" 2>/dev/null; do sleep 1; done',
    'for p in "$@"; do kill -TERM -"$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null; done',
    'i=0; while [ $i -lt 20 ]; do alive=0; for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done; [ $alive = 0 ] && break; sleep 0.5; i=$((i+1)); done',
    'for p in "$@"; do kill -KILL -"$p" 2>/dev/null; done',
    'rm -rf "$dir"',
  ].join('\n');
  const child = spawn(
    '/bin/sh',
    ['-c', script, 'sluice-watchdog', String(ownerPid), dir, ...pids.map(String)],
    {
      detached: true,
      stdio: 'ignore',
    },
  );
  child.unref();
  return child.pid;
}

/** Asks the OS for a free loopback port. Another process could take it before use; callers retry on bind failure. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

/** The last `lines` lines of a log file, for error messages that show why a server died. */
export function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Kills a server started by {@link spawnService} with SIGKILL, as a crash or a pulled plug
 * would: no controlled shutdown. Resolves once it is gone, so it can start again on its port.
 * `marker` guards {@link isAlive} against a recycled pid; `what` names it in the error.
 */
export async function killService(
  proc: ServiceProcess,
  marker: string,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const { pid } = proc;
  try {
    process.kill(-pid, 'SIGKILL'); // its process group: spawnService starts it detached
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  const deadline = Date.now() + timeoutMs;
  while (proc.exitCode() === undefined && isAlive(pid, marker)) {
    if (Date.now() > deadline)
      throw new SluiceError(
        'SLUICE_INFRA_START_FAILED',
        `${what} (pid ${pid}) still ran ${timeoutMs / 1000} s after SIGKILL, so it cannot be started again on its port; look for it with \`ps -p ${pid}\`.`,
      );
    await sleep(50);
  }
}
