import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { afterAll } from 'vitest';
import { resolveInfra, type BrokerControl, type RegistryControl } from '../../src/infra/index.js';
import { createTopics, kafkaClient, testNamespace } from '../support/kafka.js';
import type { Endpoints } from '../../src/infra/types.js';
import { LineReader, startCli } from '../support/cli.js';
import { keyed, readAll } from '../support/records.js';

/** The environment for `sluice` processes on a private instance and a namespace. */
export function envFor(at: Endpoints, namespace: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    SLUICE_BROKERS: at.brokers.join(','),
    SLUICE_REGISTRY_URL: at.registryUrl,
    SLUICE_NAMESPACE: namespace,
  };
}

/** A `sluice` process, started and waited for until it prints its one JSON start line. */
export async function sluiceProcess(
  args: string[],
  env: NodeJS.ProcessEnv,
  children: LineReader[],
): Promise<{ proc: LineReader; started: Record<string, unknown> }> {
  const proc = new LineReader(startCli([...args, '--json'], env));
  children.push(proc);
  const first = await proc.waitFor(() => true, 120_000);
  let started: Record<string, unknown>;
  try {
    started = JSON.parse(first) as Record<string, unknown>;
  } catch {
    // Not the start line: an error printed instead. Show all of it, and the process's log.
    await new Promise((resolve) => proc.child.once('exit', resolve));
    throw new Error(
      `sluice ${args.join(' ')} did not start: ${proc.lines.join('\n')}\nstderr: ${proc.stderr.slice(-3000)}`,
    );
  }
  return { proc, started };
}

// Shared with the integration tests, which read "nothing more" the same way.
export { committedThroughEnd, until } from '../support/job-groups.js';

/**
 * Stops every child still running: SIGINT, then SIGKILL for one that does not exit in 10 s.
 * With SLUICE_FAULT_LOGS set to a directory, each child's stderr (its log) is kept there, for
 * reading a failed scenario afterwards (run with SLUICE_LOG_LEVEL=debug for the whole story).
 */
export async function stopAll(children: LineReader[]): Promise<void> {
  await Promise.all(
    children.map(async (c) => {
      const kill = setTimeout(() => c.child.kill('SIGKILL'), 10_000);
      await c.stop('SIGINT');
      clearTimeout(kill);
    }),
  );
  const keep = process.env.SLUICE_FAULT_LOGS;
  if (keep) {
    mkdirSync(keep, { recursive: true });
    for (const c of children)
      writeFileSync(join(keep, `${c.child.pid ?? 'unknown'}.log`), c.stderr);
  }
}

/**
 * A scenario's own broker and registry (a private Java instance, stopped after the file), so
 * that killing them breaks nothing else, and a namespace on them with an input and an output
 * topic of three partitions.
 */
export async function privateStage(prefix: string): Promise<{
  at: Endpoints;
  broker: BrokerControl;
  registry: RegistryControl;
  ns: string;
  input: string;
  output: string;
  kafka: Kafka;
}> {
  const infra = await resolveInfra({ mode: 'owned', strategy: 'java', private: true });
  afterAll(() => infra.stop()); // registered first: runs after everything the file starts
  const { broker, registry } = infra;
  if (!broker || !registry) throw new Error('a private Java instance must hand out its servers');
  const at = { brokers: infra.brokers, registryUrl: infra.registryUrl };
  const ns = testNamespace(prefix);
  const kafka = kafkaClient(`${prefix}-test`, at.brokers);
  const input = `${ns}.in`;
  const output = `${ns}.out`;
  await createTopics(kafka, [
    { topic: input, numPartitions: 3 },
    { topic: output, numPartitions: 3 },
  ]);
  return { at, broker, registry, ns, input, output, kafka };
}

/** Resolves once the process has exited (at once if it already has). */
export function exited(c: LineReader): Promise<void> {
  return new Promise((resolve) => {
    if (c.child.exitCode !== null || c.child.signalCode !== null) resolve();
    else c.child.once('exit', () => resolve());
  });
}

/**
 * Each key's running counts in a keyed count's output (read_committed, to its end), sorted: an
 * exact count of N records is 1..N once each. Read it once the job is through its input.
 */
export async function countsPerKey(
  output: string,
  brokers?: string[],
): Promise<Map<string, number[]>> {
  const perKey = new Map<string, number[]>();
  for (const { key, value } of keyed(await readAll(output, brokers)))
    perKey.set(key, [...(perKey.get(key) ?? []), value]);
  for (const values of perKey.values()) values.sort((a, b) => a - b);
  return perKey;
}

/** 1..n: what an exact running count of n records outputs. */
export const upTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);
