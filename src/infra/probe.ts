import { setTimeout as sleep } from 'node:timers/promises';
import { RegistryHttp } from '../codec/registry-http.js';
import { isSluiceError, SluiceError } from '../domain/errors.js';
import { KAFKA_TLS_HINTS, tlsFailureMessage, tlsFailureOf } from '../domain/tls-failure.js';
import { isAuthenticationFailure, isConnectionClosed } from '../kafka/errors.js';
import { createKafka, type AdapterLogger } from '../kafka/kafkajs/adapter.js';
import type { Access, BasicAuth, BrokerConnection } from './types.js';

/** A probe's answer is its result or its error: it logs nothing. */
const QUIET: AdapterLogger = {
  child: () => QUIET,
  info: () => undefined,
  debug: () => undefined,
};

/** One attempt: does a broker answer a metadata request? Resolves to the cluster's broker count. */
export async function probeBroker(
  brokers: string[],
  timeoutMs = 3000,
  connection: BrokerConnection = {},
): Promise<number> {
  const kafka = createKafka({
    clientId: 'sluice-probe',
    brokers,
    security: connection,
    logger: QUIET,
    probeTimeoutMs: timeoutMs,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    return await admin.brokerCount();
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * One attempt: does a Confluent-compatible registry answer `GET /subjects`? Through the registry
 * client's own HTTP, so the probe trusts the same CA (`ca`, PEM text) and reports a refused
 * login (SLUICE_AUTH_FAILED) or certificate (SLUICE_TLS_FAILED) in the same words.
 */
export async function probeRegistry(
  registryUrl: string,
  timeoutMs = 3000,
  auth?: BasicAuth,
  ca?: string,
): Promise<void> {
  const http = new RegistryHttp({ url: registryUrl, auth, ca, timeoutMs });
  const res = await http.call('GET', '/subjects', 'listing subjects');
  if (res.status !== 200) throw new Error(`GET ${http.url}/subjects answered ${res.status}`);
}

/** Options for {@link waitUntil}. */
export interface WaitOptions {
  timeoutMs: number;
  /** Polled between attempts; a non-undefined result aborts the wait at once with that reason. */
  failFast?: () => string | undefined;
  /** An attempt's error that no retry can cure (refused credentials): thrown at once. */
  fatal?: (err: unknown) => SluiceError | undefined;
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
      const fatal = opts.fatal?.(err);
      if (fatal) throw fatal;
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

/**
 * Checks that endpoints someone else runs answer; a clear error names the one that does not.
 * Refused credentials end the wait at once with SLUICE_AUTH_FAILED: retrying cannot fix them.
 */
export async function checkReachable(
  brokers: string[],
  registryUrl: string,
  timeoutMs: number,
  access: Access = {},
): Promise<void> {
  await waitForBoth(
    brokers,
    registryUrl,
    timeoutMs,
    {},
    access,
    (message, cause) =>
      new SluiceError('SLUICE_INFRA_UNREACHABLE', `${message}. ${unreachableHint(cause, access)}`, {
        cause,
        retryable: true,
        details: { brokers, registryUrl },
      }),
  );
}

/**
 * A broker that wants TLS or SASL simply closes a connection that does not speak it, which
 * looks like a network fault; say so when the client was not set up for either.
 */
function unreachableHint(cause: unknown, access: Access): string {
  if (isConnectionClosed(cause) && !access.connection?.sasl && !access.connection?.ssl) {
    return 'The broker closed the connection: it may require TLS or SASL (see --tls and --sasl-mechanism, or SLUICE_TLS and SLUICE_SASL_MECHANISM).';
  }
  return 'Check the address, or unset it to let Sluice find or start local servers.';
}

/**
 * Failures no retry can cure: refused credentials (SLUICE_AUTH_FAILED) and refused TLS
 * handshakes (SLUICE_TLS_FAILED); undefined for any other error.
 */
function refusal(brokers: string[], access: Access) {
  return {
    broker: (err: unknown): SluiceError | undefined => {
      if (isAuthenticationFailure(err)) {
        return new SluiceError(
          'SLUICE_AUTH_FAILED',
          `Kafka at ${brokers.join(',')} refused the SASL ${access.connection?.sasl?.mechanism ?? ''} login: ${err.message}. Check the username, password and mechanism.`,
          { cause: err, details: { brokers } },
        );
      }
      const tls = tlsFailureOf(err);
      if (tls === undefined) return undefined;
      return new SluiceError(
        'SLUICE_TLS_FAILED',
        tlsFailureMessage(`Kafka at ${brokers.join(',')}`, tls, KAFKA_TLS_HINTS),
        { cause: err, details: { brokers, tlsCode: tls.code } },
      );
    },
    registry: (err: unknown): SluiceError | undefined =>
      isSluiceError(err, 'SLUICE_AUTH_FAILED') || isSluiceError(err, 'SLUICE_TLS_FAILED')
        ? err
        : undefined,
  };
}

/** Waits for servers this process started; ends early with their log when one dies. */
export async function checkReachableOwned(
  brokers: string[],
  registryUrl: string,
  timeoutMs: number,
  alive: Liveness,
  access: Access = {},
): Promise<void> {
  await waitForBoth(
    brokers,
    registryUrl,
    timeoutMs,
    alive,
    access,
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
  access: Access,
  onFailure: (message: string, cause: unknown) => SluiceError,
): Promise<void> {
  const refused = refusal(brokers, access);
  await Promise.all([
    waitUntil(
      `Kafka at ${brokers.join(',')}`,
      () => probeBroker(brokers, 3000, access.connection),
      { timeoutMs, failFast: alive.broker, fatal: refused.broker },
      onFailure,
    ),
    waitUntil(
      `Schema registry at ${registryUrl}`,
      () => probeRegistry(registryUrl, 3000, access.registryAuth, access.registryCa),
      { timeoutMs, failFast: alive.registry, fatal: refused.registry },
      onFailure,
    ),
  ]);
}
