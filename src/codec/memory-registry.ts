import avsc from 'avsc';
import type { SchemaRegistry } from './registry.js';

/**
 * A schema registry in memory, for unit tests and the simulation: ids from 1 in registration
 * order, one id per distinct schema, as a Confluent registry gives them. It checks no
 * compatibility; tests of that run against a real registry.
 */
export class MemoryRegistry implements SchemaRegistry {
  private readonly ids = new Map<string, number>();
  private readonly types = new Map<number, avsc.Type>();

  register(_subject: string, schema: object): Promise<number> {
    const text = JSON.stringify(schema);
    let id = this.ids.get(text);
    if (id === undefined) {
      id = this.ids.size + 1;
      this.ids.set(text, id);
      // The options Sluice's codecs use: unions of records stay wrapped by branch name.
      this.types.set(id, avsc.Type.forSchema(schema as avsc.Schema, { wrapUnions: 'auto' }));
    }
    return Promise.resolve(id);
  }

  writerType(id: number): Promise<avsc.Type> {
    const type = this.types.get(id);
    return type
      ? Promise.resolve(type)
      : Promise.reject(new Error(`MemoryRegistry: no schema has id ${id}`));
  }
}
