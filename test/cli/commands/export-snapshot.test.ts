import { describe, expect, it } from 'vitest';
import { exportAndWait, type ExportStep } from '../../../src/cli/commands/export-snapshot.js';
import { apply } from '../../../src/domain/apply.js';
import { isSluiceError } from '../../../src/domain/errors.js';
import type { JobEvent } from '../../../src/domain/events.js';
import type { JobState } from '../../../src/domain/state.js';
import { reach, Sim } from '../../domain/harness.js';

/**
 * A client stand-in for a suspended job: the coordinator's answer comes as soon as the command
 * is decided, and the test decides when each event reaches the client's view of the log, which
 * folds it and then tells the listeners, as SluiceClient does.
 */
function fakeClient() {
  const sim = new Sim();
  let view: JobState | undefined = reach(sim, 'SUSPENDED', 'j1', 'orders');
  const listeners = new Set<(e: JobEvent) => void>();
  const unread: JobEvent[] = [];
  return {
    listeners,
    deliverOne: (): void => {
      const e = unread.shift();
      if (!e) throw new Error('nothing to deliver');
      view = apply(view, e);
      for (const l of listeners) l(e);
    },
    deps: {
      job: {
        id: 'j1',
        snapshot: (): JobState => {
          if (!view) throw new Error('no job');
          return view;
        },
        exportSnapshot: (name: string): Promise<void> => {
          unread.push(...sim.exportSnapshot('j1', name).events);
          return Promise.resolve();
        },
      },
      onEvent: (l: (e: JobEvent) => void) => {
        listeners.add(l);
        return () => listeners.delete(l);
      },
    },
  };
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 10));

describe('exportAndWait', () => {
  it('waits past the command answer until SnapshotExported is read, reporting each step', async () => {
    const c = fakeClient();
    const steps: ExportStep[] = [];
    let settled = false;
    const result = exportAndWait(c.deps, 'before-upgrade', (s) => steps.push(s), 5_000).finally(
      () => (settled = true),
    );
    await tick();
    expect(steps).toEqual(['requested']);
    c.deliverOne(); // SnapshotExportStarted: the export is under way, not done
    await tick();
    expect(steps).toEqual(['requested', 'started']);
    expect(settled).toBe(false);
    c.deliverOne(); // SnapshotExported
    await expect(result).resolves.toBe('snap-1');
    expect(steps).toEqual(['requested', 'started', 'exported']);
    expect(c.listeners.size).toBe(0);
  });

  it('times out with SLUICE_COMMAND_TIMEOUT when the export never shows up', async () => {
    const c = fakeClient();
    const err = await exportAndWait(c.deps, 'lost', () => undefined, 50).catch((e: unknown) => e);
    expect(isSluiceError(err, 'SLUICE_COMMAND_TIMEOUT')).toBe(true);
    expect((err as Error).message).toContain('sluice history j1');
    expect(c.listeners.size).toBe(0);
  });
});
