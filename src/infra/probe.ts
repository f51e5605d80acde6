import kafkajs from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import { SluiceError } from '../domain/errors.js';

/** One attempt: does a broker answer a metadata request? Resolves to the cluster's broker count. */
export async function probeBroker(brokers: string[], timeoutMs = 3000): Promise<number> {
  const kafka = new kafkajs.Kafka({
    clientId: 'sluice-probe',
    brokers,
    connectionTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** One attempt: does a Confluent-compatible registry answer `GET /subjects`? */
export async function probeRegistry(registryUrl: string, timeoutMs = 3000): Promise<void> {
  const res = await fetch(`${registryUrl}/subjects`, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`GET ${registryUrl}/subjects answered ${res.status}`);
  await res.arrayBuffer();
}

/** Options for {@link waitUntil}. */
export interface WaitOptions {
  timeoutMs: number;
  /** Polled between attempts; a non-undefined result aborts the wait at once with that reason. */
  failFast?: () => string | undefined;
  intervalMs?: number;
}

/**
 * Retries `attempt` until it resolves or the deadline passes. Ends early when `failFast` reports
 * a reason (the server process died), so a crash is reported in seconds rather than at the timeout.
 */
export async function waitUntil<T>(
  what: string,
  attempt: () => Promise<T>,
  opts: WaitOptions,
  onFailure: (message: string, cause: unknown) => SluiceError,
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let last: unknown;
  for (;;) {
    const dead = opts.failFast?.();
    if (dead !== undefined) throw onFailure(`${what}: ${dead}`, last);
    try {
      return await attempt();
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const reason = last instanceof Error ? last.message : String(last);
      throw onFailure(
        `${what} did not answer within ${Math.round(opts.timeoutMs / 1000)} s (last error: ${reason})`,
        last,
      );
    }
    await sleep(opts.intervalMs ?? 250);
  }
}

/** Fail-fast checks for servers this process started: a reason when one has died. */
export interface Liveness {
  broker?: () => string | undefined;
  registry?: () => string | undefined;
}

/** Checks that endpoints someone else runs answer; a clear error names the one that does not. */
export async function checkReachable(
  brokers: string[],
  registryUrl: string,
  timeoutMs: number,
): Promise<void> {
  await waitForBoth(
    brokers,
    registryUrl,
    timeoutMs,
    {},
    (message, cause) =>
      new SluiceError(
        'SLUICE_INFRA_UNREACHABLE',
        `${message}. Check the address, or unset it to let Sluice find or start local servers.`,
        {
          cause,
          retryable: true,
          details: { brokers, registryUrl },
        },
      ),
  );
}

/** Waits for servers this process started; ends early with their log when one dies. */
export async function checkReachableOwned(
  brokers: string[],
  registryUrl: string,
  timeoutMs: number,
  alive: Liveness,
): Promise<void> {
  await waitForBoth(
    brokers,
    registryUrl,
    timeoutMs,
    alive,
    (message, cause) =>
      new SluiceError('SLUICE_INFRA_START_FAILED', message, {
        cause,
        details: { brokers, registryUrl },
      }),
  );
}

async function waitForBoth(
  brokers: string[],
  registryUrl: string,
  timeoutMs: number,
  alive: Liveness,
  onFailure: (message: string, cause: unknown) => SluiceError,
): Promise<void> {
  await Promise.all([
    waitUntil(
      `Kafka at ${brokers.join(',')}`,
      () => probeBroker(brokers),
      { timeoutMs, failFast: alive.broker },
      onFailure,
    ),
    waitUntil(
      `Schema registry at ${registryUrl}`,
      () => probeRegistry(registryUrl),
      { timeoutMs, failFast: alive.registry },
      onFailure,
    ),
  ]);
}
