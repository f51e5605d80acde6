import { describe, expect, it } from 'vitest';
import { CommandCodec } from '../../src/codec/log-codec.js';
import { MemoryRegistry } from '../../src/codec/memory-registry.js';
import { MAX_COMMAND_BYTES } from '../../src/domain/control.js';

// What the coordinator's codec makes of hostile control records: each becomes a malformed
// command with a reason, never an exception (which would retry the batch for ever) and never a
// command whose content could not fit in an event.

const codec = new CommandCodec(new MemoryRegistry(), 'ns.control');
const defaults = { commandId: 'ctl-0-1', issuedBy: 'unknown', at: 0 };

describe('CommandCodec.decode on hostile records', () => {
  it('refuses a record over MAX_COMMAND_BYTES without parsing it, whatever it holds', async () => {
    const huge = JSON.stringify({
      type: 'SubmitJob',
      jobId: 'j',
      commandId: 'c',
      pad: 'a'.repeat(MAX_COMMAND_BYTES),
    });
    expect(await codec.decode(Buffer.from(huge), defaults)).toEqual({
      malformed: true,
      reason: `record is ${huge.length} bytes; a command is at most ${MAX_COMMAND_BYTES} bytes`,
      jobId: null,
      commandType: null,
    });
  });

  it('reads JSON nested 10,000 deep, invalid UTF-8 and a 20,000-field object as malformed', async () => {
    const deep = `{"type":"SuspendJob","jobId":"j","commandId":"c","x":${'['.repeat(10_000)}${']'.repeat(10_000)}}`;
    const fields = `{"type":"SuspendJob","jobId":"j","commandId":"c",${Array.from({ length: 20_000 }, (_, i) => `"f${i}":0`).join(',')}}`;
    const utf8 = Buffer.concat([
      Buffer.from('{"type":"Susp'),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from('"}'),
    ]);
    for (const bytes of [Buffer.from(deep), Buffer.from(fields), utf8]) {
      const decoded = await codec.decode(bytes, defaults);
      expect(decoded).toMatchObject({ malformed: true });
    }
  });
});
