import type { TestProject } from 'vitest/node';
import { resolveInfra, type Endpoints } from '../../src/infra/index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    infra: Endpoints;
  }
}

/**
 * Finds or starts Kafka and the registry once per run. Servers started here are owned by this
 * process: teardown stops them, and a watchdog stops them if the run is killed.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const infra = await resolveInfra({
    mode: 'owned',
    onProgress: (m) => process.stderr.write(`[infra] ${m}\n`),
  });
  process.stderr.write(
    `[infra] ${infra.source}: ${infra.brokers.join(',')} ${infra.registryUrl} (${Date.now() - started} ms)\n`,
  );
  project.provide('infra', { brokers: infra.brokers, registryUrl: infra.registryUrl });
  return () => infra.stop();
}
