import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, killService, spawnService, type ServiceProcess } from '../process.js';
import { apicurioRunner } from './fetch.js';

/** An Apicurio Registry started from the cached distribution. */
export interface LocalRegistry {
  process: ServiceProcess;
  /** The Confluent-compatible API that Sluice speaks. */
  registryUrl: string;
  logFile: string;
  dir: string;
  port: number;
}

/**
 * Starts Apicurio with its H2 storage in a file of the instance's folder, not in memory: a
 * registry that is killed and started again (`RegistryControl`, or `infra up` after a crash)
 * still has every schema, and ids do not change under records that carry them. The data goes
 * with the broker's when `infra down` removes the folder. `port` restarts it where clients
 * already look.
 */
export async function startApicurio(
  java: string,
  distDir: string,
  dir: string,
  port?: number,
): Promise<LocalRegistry> {
  mkdirSync(dir, { recursive: true });
  port ??= await freePort();
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
      `-Dapicurio.datasource.url=jdbc:h2:file:${join(dir, 'data', 'registry')}`,
      '-jar',
      apicurioRunner(distDir),
    ],
    { cwd: dir, logFile },
  );
  return {
    process,
    registryUrl: `http://127.0.0.1:${port}/apis/ccompat/v7`,
    logFile,
    dir,
    port,
  };
}

/** Kills the registry with SIGKILL, as a crash would; resolves once it is gone. */
export function killApicurio(r: LocalRegistry, timeoutMs = 10_000): Promise<void> {
  return killService(r.process, r.dir, 'Apicurio', timeoutMs);
}
