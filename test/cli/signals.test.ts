import { describe, expect, it } from 'vitest';
import { untilStopSignal } from '../../src/cli/signals.js';

describe('untilStopSignal', () => {
  it('listens from the call, resolves with the first signal, and then stops listening', async () => {
    const before = [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')];
    const stopped = untilStopSignal();
    expect(process.listenerCount('SIGINT')).toBe((before[0] ?? 0) + 1);
    process.emit('SIGTERM', 'SIGTERM');
    await expect(stopped).resolves.toBe('SIGTERM');
    // Both gone, so a second signal gets the default action: the way out of a hung stop.
    expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).toEqual(before);
  });
});
