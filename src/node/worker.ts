import { Coordinator } from '../control/coordinator.js';
import { systemClock } from '../domain/clock.js';
import { SluiceError } from '../domain/errors.js';
import { DEFAULT_COMMAND_TIMEOUT_MS } from '../domain/settings.js';
import {
  startObservabilityServer,
  type ObservabilityServer,
  type Readiness,
} from '../observability/http.js';
import type { Logger } from '../observability/logger.js';
import { NO_METRICS, withRestoreListener } from '../observability/metrics.js';
import { WorkerMetrics } from '../observability/prometheus.js';
import type { PipelineFactory } from '../runtime/pipeline-host.js';
import { codeFingerprint } from './fingerprint.js';
import { compileWorkerOptions, type WorkerOptions } from './options.js';
import { startWorkerParts, stopWorkerParts, type WorkerParts } from './parts.js';
import { connections } from './wiring.js';

export type { PipelineFactory } from '../runtime/pipeline-host.js';
export type { WorkerOptions } from './options.js';

/** What goes into a hosted pipeline's fingerprint besides its name; see {@link Worker.register}. */
export interface RegisterOptions {
  /**
   * A version the deployer gives (a release, a commit id). Part of the fingerprint, so code
   * whose text did not change (a fix in a module the factory imports) still tells apart.
   */
  version?: string | undefined;
  /**
   * The code's text. Default: the factory's source (`factory.toString()`), which does not see
   * the modules it calls; `sluice worker` passes the whole module file instead.
   */
  source?: string | undefined;
}

/** What a started worker holds, to stop in reverse. */
interface Running {
  coordinator: Coordinator | undefined;
  parts: WorkerParts;
}

/**
 * A worker: hosts pipelines and runs the jobs that use them, takes part in the coordinator
 * election unless told not to, and serves metrics and health when asked. This class only wires
 * the parts together from validated options; the jobs run in src/runtime/.
 */
export class Worker {
  readonly workerId: string;
  readonly namespace: string;
  private readonly o: ReturnType<typeof compileWorkerOptions>;
  private readonly factories = new Map<string, PipelineFactory>();
  private readonly codes = new Map<string, string>();
  private readonly log: Logger;
  private readonly metrics: WorkerMetrics | undefined;
  private server: ObservabilityServer | undefined;
  private running: Running | undefined;
  /** Why the worker is not ready yet (or any more), for `/readyz`; undefined once started. */
  private notReady: string | undefined = 'not started';

  /** Checks every option (SLUICE_CONFIG_INVALID lists what is wrong) before anything connects. */
  constructor(private readonly options: WorkerOptions) {
    this.o = compileWorkerOptions(options);
    this.workerId = this.o.workerId;
    this.namespace = this.o.namespace;
    this.log = this.o.logger.child({ component: 'worker', worker: this.workerId });
    if (this.o.metricsPort !== undefined) this.metrics = new WorkerMetrics();
  }

  /** The port `/metrics`, `/livez` and `/readyz` are served on, once started; else undefined. */
  get metricsPort(): number | undefined {
    return this.server?.port;
  }

  /**
   * Hosts a pipeline under a name; jobs name it when they are submitted. Given a `version` or
   * a `source`, the pipeline's code gets a fingerprint, a hash of the name, the version and the
   * code's text (by default the factory's source): a failure the code causes is reported with
   * it, and a resume is refused while every live worker hosting the pipeline still runs the
   * code that failed (docs/failure-handling.md, "Code fingerprints").
   *
   * Given neither, the code has no fingerprint, and nothing is refused for it. The factory's
   * text alone cannot tell a fix from the bug when the difference lies in what it closes over:
   * the demo's two versions are one `build(priceOf)` closure each, with the same text, and the
   * fixed one was refused as the code that failed.
   */
  register(name: string, factory: PipelineFactory, opts: RegisterOptions = {}): this {
    this.factories.set(name, factory);
    if (opts.version === undefined && opts.source === undefined) this.codes.delete(name);
    else {
      const source = opts.source ?? factory.toString();
      this.codes.set(name, codeFingerprint({ pipeline: name, source, version: opts.version }));
    }
    return this;
  }

  /** The fingerprint of each hosted pipeline's code, by pipeline name. */
  get fingerprints(): Record<string, string> {
    return Object.fromEntries(this.codes);
  }

  /** The pipelines this worker hosts. */
  get pipelines(): string[] {
    return [...this.factories.keys()];
  }

  async start(): Promise<void> {
    this.metrics?.hosting(this.fingerprints);
    // Served first, so a probe can tell "starting" from "down" while Kafka is being reached.
    if (this.metrics && this.o.metricsPort !== undefined)
      this.server = await this.serve(this.metrics, this.o.metricsPort);
    try {
      this.running = await this.connect();
      this.notReady = undefined;
      this.log.info(
        { pipelines: this.fingerprints, metricsPort: this.metricsPort },
        'worker started',
      );
    } catch (err) {
      this.notReady = 'start failed';
      await this.server?.close();
      this.server = undefined;
      throw err;
    }
  }

  async stop(): Promise<void> {
    this.notReady = 'stopping';
    const r = this.running;
    this.running = undefined;
    if (r) {
      await stopWorkerParts(r.parts);
      await r.coordinator?.stop();
    }
    await this.server?.close();
    this.server = undefined;
  }

  private async connect(): Promise<Running> {
    const { namespace, workerId } = this;
    const { kafka, registry } = connections(this.o, 'sluice-worker', this.log);
    let coordinator: Coordinator | undefined;
    if (this.o.coordinator) {
      this.notReady = 'joining the coordinator election';
      coordinator = new Coordinator({
        kafka,
        registry,
        namespace,
        logger: this.log,
        memberName: workerId,
        replication: this.o.replication,
      });
      await coordinator.start();
    }
    this.notReady = 'reading the job log';
    const onRestore = this.options.onRestoreProgress;
    const parts = await startWorkerParts({
      kafka,
      registry,
      namespace,
      logger: this.log,
      clock: systemClock,
      commandTimeoutMs: DEFAULT_COMMAND_TIMEOUT_MS,
      replication: this.o.replication,
      workerId,
      retry: this.o.retry,
      factories: this.factories,
      fingerprints: this.codes,
      metrics: onRestore
        ? withRestoreListener(this.metrics ?? NO_METRICS, onRestore)
        : this.metrics,
      observe: (state) => this.metrics?.track(state),
    });
    return { coordinator, parts };
  }

  /** Live while the event loop answers; ready once the job log is read and the election joined. */
  private readiness(): Readiness {
    return this.notReady === undefined ? { ready: true } : { ready: false, reason: this.notReady };
  }

  private async serve(metrics: WorkerMetrics, port: number): Promise<ObservabilityServer> {
    try {
      return await startObservabilityServer({
        port,
        scrape: () => metrics.scrape(),
        readiness: () => this.readiness(),
        logger: this.log,
      });
    } catch (err) {
      throw new SluiceError(
        'SLUICE_CONFIG_INVALID',
        `Could not serve metrics on port ${port}: ${err instanceof Error ? err.message : String(err)}. Pick a free port, or 0 for any.`,
        { cause: err, details: { metricsPort: port } },
      );
    }
  }
}
