import {
  SchemaRegistry as ConfluentRegistry,
  SchemaType,
} from '@kafkajs/confluent-schema-registry';
import avsc from 'avsc';
import { SluiceError } from '../domain/errors.js';
import { frame, unframe } from './wire.js';

/**
 * Options for every Avro type Sluice builds: unions of records stay wrapped by branch name. A
 * fresh object each time, because avsc stores its registry of named types in the options.
 */
function typeOpts(): Partial<avsc.ForSchemaOptions> {
  return { wrapUnions: 'auto' };
}

/** Connection settings for a Confluent-compatible schema registry. */
export interface RegistryOptions {
  url: string;
  auth?: { username: string; password: string } | undefined;
}

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

/**
 * A thin client: registration goes through @kafkajs/confluent-schema-registry (which also sets
 * the subject's compatibility), lookups of writer schemas by id are plain HTTP and cached.
 */
export class RegistryClient implements SchemaRegistry {
  private readonly lib: ConfluentRegistry;
  private readonly byId = new Map<number, Promise<avsc.Type>>();

  constructor(private readonly opts: RegistryOptions) {
    this.lib = new ConfluentRegistry({ host: opts.url, auth: opts.auth });
  }

  /** Registers `schema` under `subject` with BACKWARD compatibility; returns its id. */
  async register(subject: string, schema: object): Promise<number> {
    try {
      const { id } = await this.lib.register(
        { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
        { subject },
      );
      return id;
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (status === 401 || status === 403) throw this.refused(status);
      if (status === 409) {
        throw new SluiceError(
          'SLUICE_SCHEMA_INCOMPATIBLE',
          `The registry refused this Sluice version's schema for "${subject}" as not BACKWARD compatible with the registered one. Upgrade every Sluice component together, or use another namespace.`,
          { cause: err, details: { subject } },
        );
      }
      throw new SluiceError(
        'SLUICE_REGISTRY_UNAVAILABLE',
        `Could not register the schema for "${subject}" at ${this.opts.url}: ${String(err)}`,
        {
          cause: err,
          retryable: true,
          details: { subject },
        },
      );
    }
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
    const headers: Record<string, string> = {};
    if (this.opts.auth)
      headers.authorization = `Basic ${Buffer.from(`${this.opts.auth.username}:${this.opts.auth.password}`).toString('base64')}`;
    const res = await fetch(`${this.opts.url}/schemas/ids/${id}`, {
      headers,
      signal: AbortSignal.timeout(10_000),
    });
    if (res.status === 401 || res.status === 403) {
      await res.arrayBuffer();
      throw this.refused(res.status);
    }
    if (res.status === 404) {
      throw new SluiceError(
        'SLUICE_DECODE_FAILED',
        `Schema id ${id} is not in the registry at ${this.opts.url}.`,
        { details: { schemaId: id } },
      );
    }
    if (!res.ok) {
      throw new SluiceError(
        'SLUICE_REGISTRY_UNAVAILABLE',
        `The registry answered ${res.status} for schema id ${id}.`,
        { retryable: true },
      );
    }
    const body = (await res.json()) as { schema: string; schemaType?: string };
    if (body.schemaType && body.schemaType !== 'AVRO') {
      throw new SluiceError(
        'SLUICE_DECODE_FAILED',
        `Schema id ${id} is ${body.schemaType}, not Avro.`,
        { details: { schemaId: id } },
      );
    }
    return avsc.Type.forSchema(JSON.parse(body.schema) as avsc.Schema, typeOpts());
  }

  /** A 401 or 403: retrying will not help, and the user must fix the credentials. */
  private refused(status: number): SluiceError {
    return new SluiceError(
      'SLUICE_AUTH_FAILED',
      `The schema registry at ${this.opts.url} answered ${status} ${status === 401 ? 'Unauthorized' : 'Forbidden'}: ${this.opts.auth ? 'check the registry username and password' : 'it requires a username and password (--registry-user, SLUICE_REGISTRY_USERNAME and SLUICE_REGISTRY_PASSWORD)'}.`,
      { details: { registryUrl: this.opts.url, status } },
    );
  }
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
