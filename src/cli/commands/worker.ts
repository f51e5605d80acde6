import type { Command } from 'commander';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SluiceError } from '../../domain/errors.js';
import { resolveNamespace } from '../../control/topics.js';
import { defaultLogger } from '../../observability/logger.js';
import { Worker, type PipelineFactory } from '../../runtime/worker.js';
import { endpointsFor } from '../connect.js';
import { parsePort, type GlobalOptions } from '../options.js';
import { documented } from '../help.js';
import { untilStopSignal } from '../signals.js';
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
    );
  documented(
    cmd,
    'one line once the worker runs: { "workerId": string, "namespace": string, "pipelines": string[], "metricsPort": number | null }\nA module that cannot be loaded is a usage error (exit code 2).',
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
    ],
  ).action(async (modules: string[], o: WorkerFlags) => {
    const g = globals();
    // Checked before loading modules or reaching Kafka: a typo fails fast, naming the value.
    const metricsPort = metricsPortOf(o, process.env);
    const factories = new Map<string, PipelineFactory>();
    for (const m of modules)
      for (const [name, factory] of Object.entries(await loadModule(m)))
        factories.set(name, factory);
    const { brokers, registryUrl, security } = await endpointsFor(g);
    // A bar only for a person at a terminal; the restore is also in the metrics and the logs.
    const bar = progressBar({
      enabled: showProgress(o),
      label: 'restoring state',
      unit: 'offsets',
    });
    // Listening from before the start, not from after the ready line: see untilStopSignal.
    const stopSignal = untilStopSignal();
    const worker = new Worker({
      brokers,
      registryUrl,
      security,
      namespace: g.namespace,
      workerId: o.workerId,
      coordinator: o.coordinator,
      metricsPort,
      logger: defaultLogger(),
      onRestoreProgress: (p) => {
        if (p.total === 0) return;
        bar.update(p.done, p.total, `restoring ${p.pipeline} (${p.jobId})`);
        if (p.done >= p.total) bar.finish();
      },
    });
    for (const [name, factory] of factories) worker.register(name, factory);
    await worker.start();
    const served =
      worker.metricsPort === undefined
        ? ''
        : `; metrics on http://localhost:${worker.metricsPort}/metrics`;
    // With --json, stdout gets one line a supervising script can wait for; people read stderr.
    if (o.json)
      jsonLine({
        workerId: worker.workerId,
        namespace: resolveNamespace(g.namespace),
        pipelines: worker.pipelines,
        metricsPort: worker.metricsPort ?? null,
      });
    else
      progress(
        `Worker ${worker.workerId} hosts ${worker.pipelines.join(', ')}${served}; Ctrl-C to stop.`,
      );
    await stopSignal;
    if (!o.json) progress('Stopping; other workers take over this worker’s partitions.');
    await worker.stop();
    bar.finish();
  });
}

interface WorkerFlags {
  json?: boolean;
  workerId?: string;
  coordinator: boolean;
  metricsPort?: string;
}

/** The metrics port from the flag, else SLUICE_METRICS_PORT, else none. */
export function metricsPortOf(o: WorkerFlags, env: NodeJS.ProcessEnv): number | undefined {
  if (o.metricsPort !== undefined) return parsePort(o.metricsPort, '--metrics-port');
  const fromEnv = env.SLUICE_METRICS_PORT;
  if (fromEnv !== undefined && fromEnv !== '') return parsePort(fromEnv, 'SLUICE_METRICS_PORT');
  return undefined;
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
