import { SluiceError } from '../domain/errors.js';
import type { TopicOptions } from '../node/options.js';
import type { SecurityFlags } from '../node/security.js';

/** Flags every `sluice` command accepts. */
export interface GlobalOptions extends SecurityFlags {
  brokers?: string;
  registry?: string;
  namespace?: string;
  issuedBy?: string;
  replicationFactor?: string;
  minInsyncReplicas?: string;
}

/**
 * A TCP port from a flag or an environment variable: an integer from 0 to 65535, where 0 lets
 * the OS pick a free one. `source` names where the text came from, for the error message.
 */
export function parsePort(text: string, source: string): number {
  const port = /^\d{1,5}$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!(port >= 0 && port <= 65535))
    throw new SluiceError(
      'SLUICE_USAGE',
      `${source} must be a port number from 0 to 65535 (0 picks a free port), not "${text}".`,
      { details: { [source]: text } },
    );
  return port;
}

/**
 * The replication of the topics a command may create (see TopicOptions): each from its flag,
 * else its variable (SLUICE_REPLICATION_FACTOR, SLUICE_MIN_INSYNC_REPLICAS), else left to the
 * broker. Checked before anything connects, naming the flag or variable that was wrong.
 */
export function topicOptionsOf(g: GlobalOptions, env: NodeJS.ProcessEnv): TopicOptions {
  const rf = countOf(g.replicationFactor, '--replication-factor', env, 'SLUICE_REPLICATION_FACTOR');
  const isr = countOf(
    g.minInsyncReplicas,
    '--min-insync-replicas',
    env,
    'SLUICE_MIN_INSYNC_REPLICAS',
  );
  if (rf && isr && isr.value > rf.value)
    throw new SluiceError(
      'SLUICE_USAGE',
      `${isr.source} (${isr.value}) must be at most ${rf.source} (${rf.value}): a topic with fewer replicas than must be in sync refuses every write.`,
      { details: { [isr.source]: isr.value, [rf.source]: rf.value } },
    );
  return {
    ...(rf && { replicationFactor: rf.value }),
    ...(isr && { minInsyncReplicas: isr.value }),
  };
}

/** A count of replicas, 1 to 32767 (Kafka's 16 bits), from a flag or else a variable. */
function countOf(
  flag: string | undefined,
  flagName: string,
  env: NodeJS.ProcessEnv,
  envName: string,
): { value: number; source: string } | undefined {
  const fromEnv = env[envName] === '' ? undefined : env[envName];
  const text = flag ?? fromEnv;
  if (text === undefined) return undefined;
  const source = flag !== undefined ? flagName : envName;
  const value = /^\d{1,5}$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!(value >= 1 && value <= 32_767))
    throw new SluiceError(
      'SLUICE_USAGE',
      `${source} must be a whole number of replicas from 1 to 32767, not "${text}"; leave it unset for the broker's default.`,
      { details: { [source]: text } },
    );
  return { value, source };
}
