import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isSluiceError, SluiceError } from '../../domain/errors.js';
import { retryPolicy, type RetryPolicy } from '../../node/options.js';
import { defaultLogger } from '../../observability/logger.js';
import { Worker, type PipelineFactory } from '../../node/worker.js';
import { endpointsFor } from '../connect.js';
import { parsePort, topicOptionsOf, type GlobalOptions } from '../options.js';
import { documented } from '../help.js';
import { exitSoonAfterStop, untilStopSignal } from '../signals.js';
import { jsonLine, progress } from '../output.js';
import { progressBar, showProgress } from '../progress-bar.js';

/** `sluice worker <module...>`: host the pipelines the modules export and run their jobs. */
export function registerWorker(program: Command, globals: () => GlobalOptions): void {
  const cmd = program
    .command('worker <modules...>')
    .description(
      'run a worker hosting the pipelines exported by the modules (default export: { name: (args) => Pipeline }), until Ctrl-C',
    )
    .option('--worker-id <id>', 'name shown in failure reports and job status (default host:pid)')
    .option('--no-coordinator', 'do not take part in the coordinator election')
    .option(
      '--metrics-port <port>',
      'serve Prometheus /metrics, /livez and /readyz on this port; 0 picks a free one (env SLUICE_METRICS_PORT)',
    )
    .option(
      '--retry-budget-ms <ms>',
      'how long transient Kafka errors (a broker down, a leader change) are retried before a job suspends or fails; 0 retries nothing (default 60000, env SLUICE_RETRY_BUDGET_MS)',
    )
    .option(
      '--retry-initial-ms <ms>',
      'first backoff delay, doubled per attempt; each delay is random between half of it and all of it (default 250, env SLUICE_RETRY_INITIAL_MS)',
    )
    .option('--retry-max-ms <ms>', 'largest backoff delay (default 5000, env SLUICE_RETRY_MAX_MS)')
    .option(
      '--pipeline-version <v>',
      "a version (a release, a commit id) that goes into every hosted pipeline's code fingerprint with its name and its module file's content (env SLUICE_PIPELINE_VERSION)",
    );
  documented(
    cmd,
    'one line once the worker runs: { "workerId": string, "namespace": string, "pipelines": string[], "fingerprints": { [pipeline]: string }, "metricsPort": number | null }\nA module that cannot be loaded is a usage error (exit code 2).',
    [
      [
        'sluice worker ./pipelines.js',
        'host the pipelines ./pipelines.js exports; jobs naming them start here',
      ],
      [
        'sluice worker ./pipelines.ts --worker-id w1 --metrics-port 9464',
        'TypeScript through tsx, a fixed name, and Prometheus metrics on :9464',
      ],
      [
        'sluice worker ./pipelines.js --no-coordinator',
        'a worker that never becomes the coordinator',
      ],
      [
        'sluice worker ./pipelines.js --retry-budget-ms 300000',
        'ride out broker outages of up to 5 minutes before suspending a job',
      ],
      [
        'SLUICE_PIPELINE_VERSION=$(git rev-parse HEAD) sluice worker ./pipelines.js',
        "put the commit into the pipelines' fingerprints, so a fix in a module they import counts too",
      ],
    ],
  ).action(async (modules: string[], o: WorkerFlags) => {
    const g = globals();
    // Checked before loading modules or reaching Kafka: a typo fails fast, naming the value.
    const metricsPort = metricsPortOf(o, process.env);
    const retry = retryOf(o, process.env);
    const topics = topicOptionsOf(g, process.env);
    const version = pipelineVersionOf(o, process.env);
    const pipelines = await loadPipelines(modules);
    const { brokers, registryUrl, security } = await endpointsFor(g);
    // A bar only for a person at a terminal; the restore is also in the metrics and the logs.
    const bar = progressBar({
      enabled: showProgress(o),
      label: 'restoring state',
      unit: 'offsets',
    });
    // Listening from before the start, not from after the ready line: see untilStopSignal.
    const stopSignal = untilStopSignal();
    const logger = defaultLogger();
    const worker = new Worker({
      brokers,
      registryUrl,
      security,
      namespace: g.namespace,
      workerId: o.workerId,
      coordinator: o.coordinator,
      metricsPort,
      retry,
      ...topics,
      logger,
      // Only for the bar: a listener wraps every metrics call of the worker's jobs.
      onRestoreProgress: showProgress(o)
        ? (p) => {
            if (p.total === 0) return;
            bar.update(p.done, p.total, `restoring ${p.pipeline} (${p.jobId})`);
            if (p.done >= p.total) bar.finish();
          }
        : undefined,
    });
    registerPipelines(worker, pipelines, version);
    await worker.start();
    const served =
      worker.metricsPort === undefined
        ? ''
        : `; metrics on http://localhost:${worker.metricsPort}/metrics`;
    // With --json, stdout gets one line a supervising script can wait for; people read stderr.
    if (o.json)
      jsonLine({
        workerId: worker.workerId,
        namespace: worker.namespace,
        pipelines: worker.pipelines,
        fingerprints: worker.fingerprints,
        metricsPort: worker.metricsPort ?? null,
      });
    else {
      const hosted = Object.entries(worker.fingerprints).map(([n, fp]) => `${n} (code ${fp})`);
      progress(`Worker ${worker.workerId} hosts ${hosted.join(', ')}${served}; Ctrl-C to stop.`);
    }
    await stopSignal;
    if (!o.json) progress('Stopping; other workers take over this worker’s partitions.');
    await worker.stop();
    exitSoonAfterStop(logger);
    bar.finish();
  });
}

interface WorkerFlags {
  json?: boolean;
  workerId?: string;
  coordinator: boolean;
  metricsPort?: string;
  retryBudgetMs?: string;
  retryInitialMs?: string;
  retryMaxMs?: string;
  pipelineVersion?: string;
}

/** The retry policy from the flags, else SLUICE_RETRY_*_MS, else the defaults; checked whole. */
export function retryOf(o: WorkerFlags, env: NodeJS.ProcessEnv): RetryPolicy {
  const given: Partial<RetryPolicy> = {};
  const names = { initialMs: '', maxMs: '', budgetMs: '' };
  const settings = [
    ['budgetMs', o.retryBudgetMs, '--retry-budget-ms', 'SLUICE_RETRY_BUDGET_MS'],
    ['initialMs', o.retryInitialMs, '--retry-initial-ms', 'SLUICE_RETRY_INITIAL_MS'],
    ['maxMs', o.retryMaxMs, '--retry-max-ms', 'SLUICE_RETRY_MAX_MS'],
  ] as const;
  for (const [key, flag, flagName, envName] of settings) {
    const fromEnv = env[envName] === '' ? undefined : env[envName];
    const text = flag ?? fromEnv;
    names[key] = flag !== undefined ? flagName : fromEnv !== undefined ? envName : flagName;
    if (text === undefined) continue;
    if (!/^\d+$/.test(text.trim()))
      throw new SluiceError(
        'SLUICE_USAGE',
        `${names[key]} must be a whole number of milliseconds, not "${text}".`,
        { details: { [names[key]]: text } },
      );
    given[key] = Number(text.trim());
  }
  try {
    return retryPolicy(given, names);
  } catch (err) {
    // The same check as the Worker API's, reported as what it is here: a bad flag or variable.
    if (isSluiceError(err, 'SLUICE_CONFIG_INVALID'))
      throw new SluiceError('SLUICE_USAGE', err.message, { cause: err, details: err.details });
    throw err;
  }
}

/** The metrics port from the flag, else SLUICE_METRICS_PORT, else none. */
export function metricsPortOf(o: WorkerFlags, env: NodeJS.ProcessEnv): number | undefined {
  if (o.metricsPort !== undefined) return parsePort(o.metricsPort, '--metrics-port');
  const fromEnv = env.SLUICE_METRICS_PORT;
  if (fromEnv !== undefined && fromEnv !== '') return parsePort(fromEnv, 'SLUICE_METRICS_PORT');
  return undefined;
}

/**
 * The version for the pipelines' fingerprints: the flag, else SLUICE_PIPELINE_VERSION, else
 * none. An empty value is none.
 */
export function pipelineVersionOf(o: WorkerFlags, env: NodeJS.ProcessEnv): string | undefined {
  return o.pipelineVersion || env.SLUICE_PIPELINE_VERSION || undefined;
}

/** A pipeline a module exports, with the text its fingerprint hashes: the whole module file. */
export interface ModulePipeline {
  name: string;
  factory: PipelineFactory;
  /** The module file's content, which sees more of the code than the factory's own source. */
  source: string;
  module: string;
}

/** The pipelines the modules export, in order; a later module's pipeline replaces one of the same name. */
export async function loadPipelines(modules: string[]): Promise<ModulePipeline[]> {
  const byName = new Map<string, ModulePipeline>();
  for (const module of modules) {
    const exported = await loadModule(module);
    // Read after the import succeeded, so a module that does not load says so first.
    const source = await readFile(resolve(module), 'utf8');
    for (const [name, factory] of Object.entries(exported))
      byName.set(name, { name, factory, source, module });
  }
  return [...byName.values()];
}

/**
 * Hosts the pipelines on the worker, each fingerprinted by its module file's content and the
 * version: a fix anywhere in the module changes it, where the factory's own source would not
 * see a constant or a helper beside it.
 */
export function registerPipelines(
  worker: Worker,
  pipelines: readonly ModulePipeline[],
  version: string | undefined,
): void {
  for (const p of pipelines) worker.register(p.name, p.factory, { source: p.source, version });
}

async function loadModule(path: string): Promise<Record<string, PipelineFactory>> {
  const abs = resolve(path);
  if (/\.(c|m)?ts$/.test(abs)) await registerTypeScript(path);
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(abs).href)) as { default?: unknown };
  } catch (err) {
    throw new SluiceError(
      'SLUICE_USAGE',
      `Could not load pipeline module ${path}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err, details: { module: path } },
    );
  }
  const exported = mod.default;
  if (
    exported === null ||
    typeof exported !== 'object' ||
    Object.values(exported).some((f) => typeof f !== 'function')
  ) {
    throw new SluiceError(
      'SLUICE_USAGE',
      `${path} must default-export an object mapping pipeline names to factories, e.g. export default { 'order-totals': (args) => Pipeline.create()... }.`,
      { details: { module: path } },
    );
  }
  return exported as Record<string, PipelineFactory>;
}

async function registerTypeScript(path: string): Promise<void> {
  try {
    const api = (await import('tsx/esm/api')) as { register: () => unknown };
    api.register();
  } catch {
    throw new SluiceError(
      'SLUICE_USAGE',
      `${path} is TypeScript and no loader is available. Install tsx (npm i -D tsx), or compile it to .js first.`,
    );
  }
}
