import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { SluiceError } from '../../domain/errors.js';
import { distDir, packageRoot } from '../paths.js';
import type { ProgressFn } from '../types.js';

const run = promisify(execFile);

/** The versions this code was written and tested against. */
export const KAFKA_VERSION = '4.4.0';
export const APICURIO_VERSION = '3.0.9';

const COMPLETE = '.complete';

/**
 * Makes sure Kafka's broker jars are in the cache; returns the folder holding them.
 * Fetched once through docker/local/pom.xml; later starts need no network and no Maven.
 */
export async function ensureKafka(
  onProgress: ProgressFn,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  return ensureDist('kafka', KAFKA_VERSION, env, onProgress, async (tmp) => {
    await maven(
      [
        'dependency:copy-dependencies@kafka',
        `-Dkafka.version=${KAFKA_VERSION}`,
        `-Dout=${join(tmp, 'libs')}`,
      ],
      env,
    );
  });
}

/** Makes sure Apicurio Registry is in the cache, unpacked; returns its folder. */
export async function ensureApicurio(
  onProgress: ProgressFn,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  return ensureDist('apicurio', APICURIO_VERSION, env, onProgress, async (tmp) => {
    await maven(
      [
        '-Papicurio',
        'dependency:get@apicurio',
        `-Dapicurio.version=${APICURIO_VERSION}`,
        `-Dout=${tmp}`,
      ],
      env,
    );
    const archive = join(tmp, 'apicurio.tar.gz');
    await run('tar', ['-xzf', archive, '-C', tmp]);
    rmSync(archive);
  });
}

/** The runnable jar inside an unpacked Apicurio distribution (its name changed across releases). */
export function apicurioRunner(dir: string): string {
  const jar = readdirSync(dir).find((f) => f.endsWith('-runner.jar') || f === 'quarkus-run.jar');
  if (!jar) {
    throw new SluiceError(
      'SLUICE_INFRA_FETCH_FAILED',
      `No runner jar in ${dir}. Delete that folder so the next start fetches Apicurio again.`,
    );
  }
  return join(dir, jar);
}

async function ensureDist(
  name: string,
  version: string,
  env: NodeJS.ProcessEnv,
  onProgress: ProgressFn,
  fill: (tmp: string) => Promise<void>,
): Promise<string> {
  const dir = distDir(name, version, env);
  if (existsSync(join(dir, COMPLETE))) return dir;
  onProgress(`Fetching ${name} ${version} from Maven Central (once; cached in ${dir})`);
  // Fill a private folder, then rename: two runs fetching at once never see half a download.
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(tmp, { recursive: true });
  try {
    await fill(tmp);
    writeFileSync(join(tmp, COMPLETE), new Date().toISOString());
    mkdirSync(dirname(dir), { recursive: true });
    try {
      renameSync(tmp, dir);
    } catch (err) {
      if (!existsSync(join(dir, COMPLETE))) throw err; // lost a race to an identical download: fine
    }
    return dir;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function maven(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const mvn = env.SLUICE_MVN ?? 'mvn';
  const pom = join(packageRoot(), 'docker', 'local', 'pom.xml');
  try {
    await run(mvn, ['-q', '-B', '-f', pom, ...args], { env, maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') {
      throw new SluiceError(
        'SLUICE_INFRA_FETCH_FAILED',
        `Maven ("${mvn}") is not installed, and Sluice needs it once to fetch Kafka and Apicurio from Maven Central. Install Maven (e.g. apt-get install maven), set SLUICE_MVN, or give --brokers and --registry.`,
        { cause: err },
      );
    }
    const output = `${e.stdout ?? ''}${e.stderr ?? ''}`
      .split('\n')
      .filter((l) => l.includes('ERROR'))
      .slice(0, 5)
      .join('\n');
    throw new SluiceError(
      'SLUICE_INFRA_FETCH_FAILED',
      `Maven could not fetch the local infrastructure (${args.join(' ')}). Check that Maven Central (or your mirror) is reachable.\n${output}`,
      { cause: err, retryable: true },
    );
  }
}
