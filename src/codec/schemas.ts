import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder holding the `.avsc` files (shipped with the package). */
export const SCHEMAS_DIR = fileURLToPath(new URL('../../schemas/', import.meta.url));

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const PRIMITIVES = new Set([
  'null',
  'boolean',
  'int',
  'long',
  'float',
  'double',
  'bytes',
  'string',
]);

/**
 * Loads a top-level schema (`events/JobEvent`, `commands/Command`) with every named type it uses
 * from `schemas/common/` inlined at its first use, the way avro-tools' imports work. The result
 * is one self-contained schema: what the registry stores and what any Avro reader can use.
 */
export function loadSchema(path: string, dir: string = SCHEMAS_DIR): Record<string, Json> {
  const commons = loadCommons(dir);
  const defined = new Set<string>();
  const root = JSON.parse(readFileSync(join(dir, `${path}.avsc`), 'utf8')) as Json;
  return inline(root, undefined, commons, defined) as Record<string, Json>;
}

function loadCommons(dir: string): Map<string, Json> {
  const out = new Map<string, Json>();
  for (const file of readdirSync(join(dir, 'common')).filter((f) => f.endsWith('.avsc'))) {
    const schema = JSON.parse(readFileSync(join(dir, 'common', file), 'utf8')) as {
      name: string;
      namespace?: string;
    };
    out.set(schema.namespace ? `${schema.namespace}.${schema.name}` : schema.name, schema);
  }
  return out;
}

function inline(
  node: Json,
  namespace: string | undefined,
  commons: Map<string, Json>,
  defined: Set<string>,
): Json {
  if (typeof node === 'string') {
    if (PRIMITIVES.has(node)) return node;
    const full = node.includes('.') || !namespace ? node : `${namespace}.${node}`;
    if (defined.has(full) || defined.has(node)) return node;
    const common = commons.get(full) ?? commons.get(node);
    if (common === undefined)
      throw new Error(`Avro type "${node}" is neither defined before use nor in schemas/common/`);
    return inline(structuredClone(common), namespace, commons, defined);
  }
  if (Array.isArray(node)) return node.map((n) => inline(n, namespace, commons, defined));
  if (node === null || typeof node !== 'object') return node;
  const type = node.type;
  if (type === 'record' || type === 'enum' || type === 'fixed') {
    const ns = typeof node.namespace === 'string' ? node.namespace : namespace;
    const name = typeof node.name === 'string' ? node.name : '';
    defined.add(name.includes('.') || !ns ? name : `${ns}.${name}`);
    if (type !== 'record') return node;
    const fields = (node.fields as Json[]).map((f) => {
      const field = f as Record<string, Json>;
      return { ...field, type: inline(field.type ?? null, ns, commons, defined) };
    });
    return { ...node, fields };
  }
  if (type === 'array')
    return { ...node, items: inline(node.items ?? null, namespace, commons, defined) };
  if (type === 'map')
    return { ...node, values: inline(node.values ?? null, namespace, commons, defined) };
  if (
    typeof type === 'string' ||
    Array.isArray(type) ||
    (type !== null && typeof type === 'object')
  ) {
    return { ...node, type: inline(type, namespace, commons, defined) };
  }
  return node;
}
