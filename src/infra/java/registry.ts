import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, spawnService, type ServiceProcess } from '../process.js';
import { apicurioRunner } from './fetch.js';

/** An Apicurio Registry started from the cached distribution. */
export interface LocalRegistry {
  process: ServiceProcess;
  /** The Confluent-compatible API, which @kafkajs/confluent-schema-registry speaks. */
  registryUrl: string;
  logFile: string;
}

/**
 * Starts Apicurio with its default in-memory storage: schemas live as long as the broker's data
 * does, because `infra down` removes both together.
 */
export async function startApicurio(
  java: string,
  distDir: string,
  dir: string,
): Promise<LocalRegistry> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const logFile = join(dir, 'registry.log');
  const process = spawnService(
    java,
    [
      '-Xms128m',
      '-Xmx512m',
      '-Djava.awt.headless=true',
      `-Dsluice.instance=${dir}`,
      `-Dquarkus.http.port=${port}`,
      '-Dquarkus.http.host=127.0.0.1',
      // Access logs would log every schema lookup; the registry's own log is enough.
      '-Dquarkus.http.access-log.enabled=false',
      '-jar',
      apicurioRunner(distDir),
    ],
    { cwd: dir, logFile },
  );
  return { process, registryUrl: `http://127.0.0.1:${port}/apis/ccompat/v7`, logFile };
}
