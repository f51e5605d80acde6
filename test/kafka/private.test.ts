import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * A host application in a process of its own: it imports Sluice's public door and kafkajs in
 * the order given, and prints which kafkajs modules carry Sluice's marks, in its own kafkajs
 * and in Sluice's private one.
 */
async function host(order: 'sluice first' | 'kafkajs first'): Promise<Record<string, unknown>> {
  const script = `
    import { createRequire } from 'node:module';
    const require = createRequire(process.cwd() + '/package.json');
    const files = {
      filter: ['src/consumer/filterAbortedMessages.js', 'sluice.readCommittedFilter'],
      grouping: ['src/producer/groupMessagesPerPartition.js', 'sluice.groupMessagesPerPartition'],
      record: ['src/protocol/recordBatch/record/v0/index.js', 'sluice.encodeRecord'],
      coordinators: ['src/cluster/index.js', 'sluice.coordinatorCache'],
      generation: ['src/consumer/consumerGroup.js', 'sluice.groupJoinGeneration'],
      txnOffsetCommit: ['src/protocol/requests/txnOffsetCommit/index.js', 'sluice.txnOffsetCommitV3'],
    };
    ${order === 'kafkajs first' ? "const early = require('kafkajs');" : ''}
    await import('./src/index.ts');
    const { privateKafkajs } = await import('./src/kafka/kafkajs/loader.ts');
    const host = require('kafkajs');
    const marks = (load) => Object.fromEntries(Object.entries(files).map(
      ([name, [file, mark]]) => [name, load(file)?.[Symbol.for(mark)] === true]));
    console.log(JSON.stringify({
      host: marks((f) => require('kafkajs/' + f)),
      sluice: marks((f) => privateKafkajs.module(f)),
      sameClient: host.Kafka === privateKafkajs.kafkajs.Kafka,
    }));
  `;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script],
    { cwd: root },
  );
  return JSON.parse(stdout) as Record<string, unknown>;
}

describe("Sluice's kafkajs is private", () => {
  const names = ['filter', 'grouping', 'record', 'coordinators', 'generation', 'txnOffsetCommit'];
  const none = Object.fromEntries(names.map((n) => [n, false]));
  const all = Object.fromEntries(names.map((n) => [n, true]));

  it.each(['sluice first', 'kafkajs first'] as const)(
    'an application importing kafkajs gets it as published, %s',
    async (order) => {
      const seen = await host(order);
      expect(seen.host).toEqual(none);
      expect(seen.sluice).toEqual(all);
      expect(seen.sameClient).toBe(false);
    },
    30_000,
  );
});
