/** How records on a topic are (de)serialised. `avro` goes through the schema registry. */
export const FORMATS = ['json', 'string', 'bytes', 'avro'] as const;
export type Format = (typeof FORMATS)[number];
