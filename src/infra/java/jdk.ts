import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** A Java runtime found on this machine. */
export interface Jdk {
  java: string;
  major: number;
}

/**
 * Finds a `java` of at least `minMajor`: SLUICE_JAVA_HOME, JAVA_HOME, PATH, then the usual JDK
 * folders, because a machine's default java is often older than one installed beside it.
 */
export function findJava(minMajor: number, env: NodeJS.ProcessEnv = process.env): Jdk | undefined {
  for (const java of candidates(env)) {
    const major = javaMajor(java);
    if (major !== undefined && major >= minMajor) return { java, major };
  }
  return undefined;
}

function* candidates(env: NodeJS.ProcessEnv): Generator<string> {
  for (const home of [env.SLUICE_JAVA_HOME, env.JAVA_HOME]) {
    if (home) yield join(home, 'bin', 'java');
  }
  yield 'java';
  for (const root of ['/usr/lib/jvm', '/Library/Java/JavaVirtualMachines']) {
    if (!existsSync(root)) continue;
    for (const name of readdirSync(root).sort().reverse()) {
      for (const home of [join(root, name), join(root, name, 'Contents', 'Home')]) {
        const java = join(home, 'bin', 'java');
        if (existsSync(java)) yield java;
      }
    }
  }
}

/** Parses `java -version` ("17.0.15", "1.8.0_402", "25") into its major number. */
export function parseJavaMajor(versionOutput: string): number | undefined {
  const m = /version "(\d+)(?:\.(\d+))?/.exec(versionOutput);
  if (!m) return undefined;
  const first = Number(m[1]);
  return first === 1 && m[2] !== undefined ? Number(m[2]) : first;
}

function javaMajor(java: string): number | undefined {
  // `java -version` writes to stderr.
  const res = spawnSync(java, ['-version'], { encoding: 'utf8', timeout: 15000 });
  if (res.error) return undefined;
  return parseJavaMajor(`${res.stderr}${res.stdout}`);
}
