import avsc from 'avsc';
import { SluiceError } from '../domain/errors.js';
import { DEFAULT_RETRY, withRetry, type RetryPolicy } from '../kafka/retry.js';
import { errorCode, RegistryHttp, type RegistryOptions } from './registry-http.js';
import { frame, unframe } from './wire.js';

export type { RegistryOptions } from './registry-http.js';

/**
 * Options for every Avro type Sluice builds: unions of records stay wrapped by branch name. A
 * fresh object each time, because avsc stores its registry of named types in the options.
 */
function typeOpts(): Partial<avsc.ForSchemaOptions> {
  return { wrapUnions: 'auto' };
}

/** The compatibility Sluice gives the subjects it registers, unless an operator chose another. */
export const SUBJECT_COMPATIBILITY = 'BACKWARD';

/**
 * What Sluice needs of a schema registry: to register a schema under a subject, and to find a
 * writer's schema by id. {@link RegistryClient} speaks to a Confluent-compatible registry;
 * `MemoryRegistry` (memory-registry.ts) keeps schemas in memory for tests without servers.
 */
export interface SchemaRegistry {
  /** Registers `schema` under `subject`; resolves to its id (the same id for the same schema). */
  register(subject: string, schema: object): Promise<number>;
  /** The writer's schema for an id, as an Avro type. */
  writerType(id: number): Promise<avsc.Type>;
}

/** How a {@link RegistryClient} waits out an unavailable registry while registering. */
export interface RegistryRetry {
  policy: RetryPolicy;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/**
 * A Confluent-compatible registry over its REST API. Lookups of writer schemas by id are cached.
 *
 * Registration is written to converge when many processes start at once in a new namespace,
 * which is what a deployment does. @kafkajs/confluent-schema-registry's `register` reads the
 * subject's compatibility, registers, then sets the compatibility: a process that reads between
 * another's second and third step sees the registry default and throws, and one whose create
 * races another's is told 409. Here every step is idempotent and each outcome is checked
 * against the registry's state rather than assumed, so concurrent starts all reach the same id.
 */
export class RegistryClient implements SchemaRegistry {
  private readonly http: RegistryHttp;
  private readonly byId = new Map<number, Promise<avsc.Type>>();
  private readonly retry: RegistryRetry;

  constructor(opts: RegistryOptions, retry?: RegistryRetry) {
    this.http = new RegistryHttp(opts);
    this.retry = retry ?? { policy: DEFAULT_RETRY };
  }

  /**
   * Registers `schema` under `subject` with {@link SUBJECT_COMPATIBILITY}; returns its id. An
   * unavailable registry is waited out within the retry budget.
   */
  register(subject: string, schema: object): Promise<number> {
    const text = JSON.stringify(schema);
    return withRetry(() => this.registerOnce(subject, text), this.retry.policy, this.retry.onRetry);
  }

  private async registerOnce(subject: string, schema: string): Promise<number> {
    const path = `/subjects/${encodeURIComponent(subject)}`;
    const what = `registering the schema for "${subject}"`;
    await this.ensureCompatibility(subject);
    const created = await this.http.call('POST', `${path}/versions`, what, { schema });
    if (created.status === 200) return idOf(created, what);
    if (created.status !== 409) throw this.unexpected(what, created);
    // 409 is either "incompatible" or, from some registries, "another client is creating this
    // subject right now". The registry's state tells which: is this very schema there already?
    const found = await this.http.call('POST', path, `looking up the schema for "${subject}"`, {
      schema,
    });
    if (found.status === 200) return idOf(found, what);
    const versions = await this.http.call('GET', `${path}/versions`, `listing "${subject}"`);
    if (versions.status === 404 || (Array.isArray(versions.body) && versions.body.length === 0)) {
      throw new SluiceError(
        'SLUICE_REGISTRY_UNAVAILABLE',
        `The registry refused the schema for "${subject}" (409) while the subject was still being created; trying again.`,
        { retryable: true, details: { subject } },
      );
    }
    throw new SluiceError(
      'SLUICE_SCHEMA_INCOMPATIBLE',
      `The registry refused this Sluice version's schema for "${subject}" as not compatible with the registered one: ${messageOf(created)}. Upgrade every Sluice component together, or use another namespace.`,
      { details: { subject } },
    );
  }

  /**
   * Sets the subject's compatibility before its first schema, so no schema is ever registered
   * under the registry's default. NONE or no setting (a 404) counts as unset: NONE is what
   * Apicurio reports for a subject without its own rule. Another explicit level (FULL, say) is
   * an operator's choice and is kept. Setting it twice to the same level is harmless, so
   * starts that race both set it and both go on.
   */
  private async ensureCompatibility(subject: string): Promise<void> {
    const path = `/config/${encodeURIComponent(subject)}`;
    const current = await this.http.call('GET', path, `reading the compatibility of "${subject}"`);
    const level =
      current.status === 200
        ? (current.body as { compatibilityLevel?: unknown } | null)?.compatibilityLevel
        : undefined;
    if (typeof level === 'string' && level.toUpperCase() !== 'NONE') return;
    if (current.status !== 200 && current.status !== 404)
      throw this.unexpected(`reading the compatibility of "${subject}"`, current);
    const set = await this.http.call('PUT', path, `setting the compatibility of "${subject}"`, {
      compatibility: SUBJECT_COMPATIBILITY,
    });
    if (set.status !== 200) throw this.unexpected(`setting the compatibility of "${subject}"`, set);
  }

  /** The writer's schema for an id, as an Avro type. */
  writerType(id: number): Promise<avsc.Type> {
    let found = this.byId.get(id);
    if (!found) {
      found = this.fetchSchema(id);
      // A failed lookup must not poison the cache: the registry may come back.
      found.catch(() => this.byId.delete(id));
      this.byId.set(id, found);
    }
    return found;
  }

  private async fetchSchema(id: number): Promise<avsc.Type> {
    const what = `fetching schema id ${id}`;
    const answer = await this.http.call('GET', `/schemas/ids/${id}`, what);
    if (answer.status === 404) {
      throw new SluiceError(
        'SLUICE_DECODE_FAILED',
        `Schema id ${id} is not in the registry at ${this.http.url}.`,
        { details: { schemaId: id } },
      );
    }
    if (answer.status !== 200) throw this.unexpected(what, answer);
    const body = answer.body as { schema?: unknown; schemaType?: string } | null;
    if (body?.schemaType && body.schemaType !== 'AVRO') {
      throw new SluiceError(
        'SLUICE_DECODE_FAILED',
        `Schema id ${id} is ${body.schemaType}, not Avro.`,
        { details: { schemaId: id } },
      );
    }
    if (typeof body?.schema !== 'string') throw this.unexpected(what, answer);
    return avsc.Type.forSchema(JSON.parse(body.schema) as avsc.Schema, typeOpts());
  }

  /**
   * An answer that no registry should give to this call. Counted as unavailable (retryable):
   * a proxy or a registry mid-restart answers like this, and a lasting one runs out the budget
   * with the answer in the message.
   */
  private unexpected(what: string, answer: { status: number; body: unknown }): SluiceError {
    return new SluiceError(
      'SLUICE_REGISTRY_UNAVAILABLE',
      `The schema registry at ${this.http.url} gave an unexpected answer while ${what}: ${answer.status} ${messageOf(answer)}.`,
      { retryable: true, details: { registryUrl: this.http.url, status: answer.status } },
    );
  }
}

function idOf(answer: { status: number; body: unknown }, what: string): number {
  const id = (answer.body as { id?: unknown } | null)?.id;
  if (typeof id !== 'number')
    throw new SluiceError(
      'SLUICE_REGISTRY_UNAVAILABLE',
      `The schema registry answered ${what} without an id: ${JSON.stringify(answer.body).slice(0, 200)}.`,
      { retryable: true },
    );
  return id;
}

function messageOf(answer: { status: number; body: unknown }): string {
  const body = answer.body as { message?: unknown } | null;
  const code = errorCode(answer);
  const message = typeof body?.message === 'string' ? body.message : JSON.stringify(answer.body);
  return `${code !== undefined ? `[${code}] ` : ''}${(message ?? '').slice(0, 300)}`;
}

/**
 * Encodes and decodes one subject's records in the Confluent wire format. Writes with this
 * version's schema; reads any registered version through Avro schema resolution.
 */
export class AvroCodec {
  private readonly reader: avsc.Type;
  private readonly resolvers = new Map<number, { resolver?: avsc.Resolver; writer: avsc.Type }>();
  private id: number | undefined;

  constructor(
    private readonly registry: SchemaRegistry,
    readonly subject: string,
    readonly schema: object,
    /** Decode every record with its own writer's schema (for sources whose schema Sluice does not own). */
    private readonly opts: { readWithWriterSchema?: boolean } = {},
  ) {
    this.reader = avsc.Type.forSchema(schema as avsc.Schema, typeOpts());
  }

  /** Registers the schema (once) and returns its id. */
  async ready(): Promise<number> {
    this.id ??= await this.registry.register(this.subject, this.schema);
    return this.id;
  }

  /** Frames `value`; call {@link ready} first. Throws SLUICE_DECODE_FAILED naming the bad field if it does not fit the schema. */
  encode(value: object): Buffer {
    if (this.id === undefined) throw new Error(`codec for ${this.subject} used before ready()`);
    const paths: string[] = [];
    if (!this.reader.isValid(value, { errorHook: (path) => paths.push(path.join('.')) })) {
      throw new SluiceError(
        'SLUICE_ENCODE_FAILED',
        `Value does not fit ${this.subject}: bad field(s) ${paths.join(', ')}`,
        { details: { paths } },
      );
    }
    return frame(this.id, this.reader.toBuffer(value));
  }

  /**
   * Decodes framed bytes. Unknown union branches (a newer writer) cannot be resolved against this
   * reader; then the record is read with the writer's own schema, so nothing is dropped.
   */
  async decode(bytes: Buffer): Promise<Record<string, unknown>> {
    const framed = unframe(bytes);
    if (!framed) {
      throw new SluiceError(
        'SLUICE_DECODE_FAILED',
        'Not in the Confluent wire format (magic byte 0 and a schema id).',
      );
    }
    let entry = this.resolvers.get(framed.schemaId);
    if (!entry) {
      const writer = await this.registry.writerType(framed.schemaId);
      let resolver: avsc.Resolver | undefined;
      try {
        resolver = this.opts.readWithWriterSchema ? undefined : this.reader.createResolver(writer);
      } catch {
        resolver = undefined;
      }
      entry = { writer, resolver };
      this.resolvers.set(framed.schemaId, entry);
    }
    try {
      const value: unknown = entry.resolver
        ? this.reader.fromBuffer(framed.body, entry.resolver)
        : entry.writer.fromBuffer(framed.body);
      return plain(value) as Record<string, unknown>;
    } catch (err) {
      throw new SluiceError(
        'SLUICE_DECODE_FAILED',
        `Avro body does not match schema id ${framed.schemaId}: ${err instanceof Error ? err.message : String(err)}`,
        {
          cause: err,
          details: { schemaId: framed.schemaId },
        },
      );
    }
  }
}

/**
 * avsc decodes records as instances of generated classes whose prototypes carry methods; the
 * domain works with plain data (and validates it strictly), so copy own fields only.
 */
function plain(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;
  if (Array.isArray(value)) return value.map(plain);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = plain((value as Record<string, unknown>)[key]);
  return out;
}
