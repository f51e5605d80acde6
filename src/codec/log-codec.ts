import type { Command } from '../domain/commands.js';
import { MAX_COMMAND_BYTES, type MalformedCommand } from '../domain/control.js';
import type { JobEvent } from '../domain/events.js';
import { isSluiceError } from '../domain/errors.js';
import { parseJsonCommand, type JsonDefaults } from './json-command.js';
import { commandFromAvro, commandToAvro, eventFromAvro, eventToAvro } from './mapping.js';
import { AvroCodec, type SchemaRegistry } from './registry.js';
import { loadSchema } from './schemas.js';

/** Registry subjects follow the topic-name strategy: `<topic>-value`. */
export function subjectFor(topic: string): string {
  return `${topic}-value`;
}

/** Encodes and decodes lifecycle events on `<ns>.jobs`. */
export class EventCodec {
  private readonly avro: AvroCodec;

  constructor(registry: SchemaRegistry, topic: string) {
    this.avro = new AvroCodec(registry, subjectFor(topic), loadSchema('events/JobEvent'));
  }

  /** Registers the event schema; call once before encoding. */
  async ready(): Promise<number> {
    return this.avro.ready();
  }

  encode(event: JobEvent): Buffer {
    return this.avro.encode(eventToAvro(event));
  }

  async decode(bytes: Buffer): Promise<JobEvent> {
    return eventFromAvro(await this.avro.decode(bytes));
  }
}

/** Encodes commands as Avro, and decodes either Avro (wire format) or plain JSON. */
export class CommandCodec {
  private readonly avro: AvroCodec;

  constructor(registry: SchemaRegistry, topic: string) {
    this.avro = new AvroCodec(registry, subjectFor(topic), loadSchema('commands/Command'));
  }

  async ready(): Promise<number> {
    return this.avro.ready();
  }

  encode(command: Command): Buffer {
    return this.avro.encode(commandToAvro(command));
  }

  /**
   * Reads a control record. Never throws for bad input: garbage becomes a {@link MalformedCommand}
   * that the coordinator records. Throws only when the registry cannot be reached (retryable).
   */
  async decode(bytes: Buffer | null, defaults: JsonDefaults): Promise<Command | MalformedCommand> {
    if (bytes === null || bytes.length === 0) return malformed('empty record');
    // Not parsed at all: its content could not go into an event anyway (see MAX_COMMAND_BYTES).
    if (bytes.length > MAX_COMMAND_BYTES)
      return malformed(
        `record is ${bytes.length} bytes; a command is at most ${MAX_COMMAND_BYTES} bytes`,
      );
    if (bytes[0] === 0x7b /* { */) {
      const parsed = parseJsonCommand(bytes.toString('utf8'), defaults);
      return typeof parsed === 'string'
        ? malformed(
            `JSON command rejected: ${parsed}`,
            guessField(bytes, 'jobId'),
            guessField(bytes, 'type'),
          )
        : parsed;
    }
    let record: Record<string, unknown>;
    try {
      record = await this.avro.decode(bytes);
    } catch (err) {
      // The registry out of reach, or refusing our credentials, says nothing about the record:
      // thrown, the batch is retried; a malformed verdict would reject a valid command forever.
      if (
        isSluiceError(err, 'SLUICE_REGISTRY_UNAVAILABLE') ||
        isSluiceError(err, 'SLUICE_AUTH_FAILED')
      )
        throw err;
      return malformed(err instanceof Error ? err.message : String(err));
    }
    const command = commandFromAvro(record);
    if (typeof command === 'string')
      return malformed(command, typeof record.jobId === 'string' ? record.jobId : null);
    return command;
  }
}

function malformed(
  reason: string,
  jobId: string | null = null,
  commandType: string | null = null,
): MalformedCommand {
  return { malformed: true, reason, jobId, commandType };
}

/** Best effort: the jobId/type of a JSON record that failed validation, so the rejection lands in that job's history. */
function guessField(bytes: Buffer, field: string): string | null {
  try {
    const v = (JSON.parse(bytes.toString('utf8')) as Record<string, unknown>)[field];
    return typeof v === 'string' && v.length > 0 && v.length <= 200 ? v : null;
  } catch {
    return null;
  }
}
