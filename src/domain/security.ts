import { z } from 'zod';
import { SluiceError } from './errors.js';

/** SASL mechanisms Sluice's Kafka client speaks, in kafkajs's spelling. */
export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;

/** A SASL mechanism, see {@link SASL_MECHANISMS}. */
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

/** A username and a password. */
export interface Credentials {
  username: string;
  password: string;
}

/** TLS settings; the files (PEM) are read when a Kafka client is created. */
export interface TlsFiles {
  /** CA certificate(s) to trust instead of the system's. */
  ca?: string;
  /** Client certificate and key, for brokers that authenticate clients by certificate. */
  cert?: string;
  key?: string;
  /** Default true. False accepts any certificate: for a throwaway test broker only. */
  rejectUnauthorized?: boolean;
}

/** How to reach secured brokers and registry. Every part is optional; none means plaintext. */
export interface ConnectionSecurity {
  /** TLS to the brokers: true for the system's trust store, or files. */
  ssl?: boolean | TlsFiles;
  sasl?: Credentials & { mechanism: SaslMechanism };
  /** HTTP basic auth for the schema registry. */
  registryAuth?: Credentials;
  /** A PEM file of CA certificate(s) to trust for an `https:` registry: a private CA. */
  registryCa?: string;
}

/** One source's settings, flat: every field optional, so sources can be merged field by field. */
export interface SecuritySettings {
  tls?: boolean;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsRejectUnauthorized?: boolean;
  saslMechanism?: string;
  saslUsername?: string;
  saslPassword?: string;
  registryUsername?: string;
  registryPassword?: string;
  registryCa?: string;
}

/** Where settings came from, highest precedence first. */
export type SettingsSource = 'flags' | 'env' | 'config file';

/** One source's settings. */
export interface SecurityLayer {
  source: SettingsSource;
  settings: SecuritySettings;
}

type Field = keyof SecuritySettings;

/** How a user sets each field in each source, and what to call it; error messages use these. */
export const SETTING_NAMES: Record<
  Field,
  { label: string; flag?: string; env?: string; file: string }
> = {
  tls: { label: 'TLS', flag: '--tls', env: 'SLUICE_TLS', file: 'ssl' },
  tlsCa: { label: 'CA file', flag: '--tls-ca', env: 'SLUICE_TLS_CA', file: 'ssl.ca' },
  tlsCert: {
    label: 'client certificate file',
    flag: '--tls-cert',
    env: 'SLUICE_TLS_CERT',
    file: 'ssl.cert',
  },
  tlsKey: { label: 'client key file', flag: '--tls-key', env: 'SLUICE_TLS_KEY', file: 'ssl.key' },
  tlsRejectUnauthorized: { label: 'certificate check', file: 'ssl.rejectUnauthorized' },
  saslMechanism: {
    label: 'mechanism',
    flag: '--sasl-mechanism',
    env: 'SLUICE_SASL_MECHANISM',
    file: 'sasl.mechanism',
  },
  saslUsername: {
    label: 'username',
    flag: '--sasl-username',
    env: 'SLUICE_SASL_USERNAME',
    file: 'sasl.username',
  },
  saslPassword: {
    label: 'password',
    flag: '--sasl-password-file',
    env: 'SLUICE_SASL_PASSWORD',
    file: 'sasl.password',
  },
  registryUsername: {
    label: 'username',
    flag: '--registry-user',
    env: 'SLUICE_REGISTRY_USERNAME',
    file: 'registryAuth.username',
  },
  registryPassword: {
    label: 'password',
    flag: '--registry-password-file',
    env: 'SLUICE_REGISTRY_PASSWORD',
    file: 'registryAuth.password',
  },
  registryCa: {
    label: 'registry CA file',
    flag: '--registry-ca',
    env: 'SLUICE_REGISTRY_CA',
    file: 'registryCa',
  },
};

/** "--sasl-username, SLUICE_SASL_USERNAME or sasl.username in the config file". */
function howToSet(field: Field): string {
  const n = SETTING_NAMES[field];
  const ways = [n.flag, n.env].filter((w): w is string => w !== undefined);
  return `${ways.join(', ')}${ways.length > 0 ? ' or ' : ''}${n.file} in the config file`;
}

/** Names the source of a value in messages, never the value itself (it may be a secret). */
function from(field: Field, source: SettingsSource): string {
  const n = SETTING_NAMES[field];
  if (source === 'flags' && n.flag) return n.flag;
  if (source === 'env' && n.env) return n.env;
  return `${n.file} in the config file`;
}

const text = z.string().min(1, 'must not be empty');

/** The config file: JSON, every key optional, so env or flags may complete it (a password, say). */
const fileSchema = z
  .object({
    ssl: z.union(
      [
        z.boolean(),
        z
          .object({ ca: text, cert: text, key: text, rejectUnauthorized: z.boolean() })
          .partial()
          .strict(),
      ],
      { error: 'must be true, false or { ca, cert, key, rejectUnauthorized }' },
    ),
    sasl: z.object({ mechanism: text, username: text, password: text }).partial().strict(),
    registryAuth: z.object({ username: text, password: text }).partial().strict(),
    registryCa: text,
  })
  .partial()
  .strict();

/**
 * Validates a parsed config file and flattens it into a layer. Unknown keys and wrong types give
 * one SLUICE_CONFIG_INVALID that lists every problem by key; values are never echoed.
 */
export function fileLayer(content: unknown, fileName: string): SecurityLayer {
  const parsed = fileSchema.safeParse(content);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const at = issue.path.length > 0 ? issue.path.join('.') : 'the top level';
      if (issue.code === 'unrecognized_keys') {
        return `unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')} at ${at}`;
      }
      return `${at}: ${issue.message}`;
    });
    throw new SluiceError(
      'SLUICE_CONFIG_INVALID',
      `Config file ${fileName} is invalid: ${problems.join('; ')}. It may hold only ssl (true, false or { ca, cert, key, rejectUnauthorized }), sasl ({ mechanism, username, password }), registryAuth ({ username, password }) and registryCa (a file); see "Secure connections" in the README.`,
      { details: { file: fileName, problems } },
    );
  }
  const f = parsed.data;
  const ssl = typeof f.ssl === 'object' ? f.ssl : undefined;
  return {
    source: 'config file',
    settings: compact({
      tls: f.ssl === undefined ? undefined : f.ssl !== false,
      tlsCa: ssl?.ca,
      tlsCert: ssl?.cert,
      tlsKey: ssl?.key,
      tlsRejectUnauthorized: ssl?.rejectUnauthorized,
      saslMechanism: f.sasl?.mechanism,
      saslUsername: f.sasl?.username,
      saslPassword: f.sasl?.password,
      registryUsername: f.registryAuth?.username,
      registryPassword: f.registryAuth?.password,
      registryCa: f.registryCa,
    }),
  };
}

/** Drops undefined fields, so a source that does not set a field never hides a lower one. */
export function compact(settings: SecuritySettings): SecuritySettings {
  return Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined));
}

/**
 * Merges the layers field by field (the first layer that sets a field wins) and checks the
 * result is whole: SASL needs a mechanism, a username and a password; registry auth a username
 * and a password; a client certificate its key. Throws one SLUICE_CONFIG_INVALID listing every
 * problem and how to fix it.
 */
export function compileSecurity(layers: SecurityLayer[]): ConnectionSecurity {
  const merged = new Map<Field, { value: string | boolean; source: SettingsSource }>();
  for (const { source, settings } of layers) {
    for (const [field, value] of Object.entries(settings) as [Field, string | boolean][]) {
      if (value !== undefined && !merged.has(field)) merged.set(field, { value, source });
    }
  }
  const str = (f: Field): string | undefined => {
    const v = merged.get(f)?.value;
    return typeof v === 'string' ? v : undefined;
  };
  const problems: string[] = [];
  const out: ConnectionSecurity = {};

  const mechanismRaw = str('saslMechanism');
  const mechanism = mechanismRaw?.toLowerCase() as SaslMechanism | undefined;
  if (mechanism !== undefined && !SASL_MECHANISMS.includes(mechanism)) {
    problems.push(
      `SASL mechanism "${mechanismRaw}" (from ${from('saslMechanism', merged.get('saslMechanism')?.source ?? 'flags')}) is not one of ${SASL_MECHANISMS.join(', ')}`,
    );
  }
  const sasl = whole(['saslMechanism', 'saslUsername', 'saslPassword'], 'SASL', merged, problems);
  if (sasl && mechanism && SASL_MECHANISMS.includes(mechanism)) {
    out.sasl = {
      mechanism,
      username: str('saslUsername') ?? '',
      password: str('saslPassword') ?? '',
    };
  }
  if (whole(['registryUsername', 'registryPassword'], 'Registry basic auth', merged, problems)) {
    out.registryAuth = {
      username: str('registryUsername') ?? '',
      password: str('registryPassword') ?? '',
    };
  }

  const registryCa = str('registryCa');
  if (registryCa !== undefined) out.registryCa = registryCa;

  const files: TlsFiles = {};
  for (const [field, key] of [
    ['tlsCa', 'ca'],
    ['tlsCert', 'cert'],
    ['tlsKey', 'key'],
  ] as const) {
    const path = str(field);
    if (path !== undefined) files[key] = path;
  }
  const reject = merged.get('tlsRejectUnauthorized')?.value;
  if (typeof reject === 'boolean') files.rejectUnauthorized = reject;
  if ((files.cert === undefined) !== (files.key === undefined)) {
    const missing: Field = files.cert === undefined ? 'tlsCert' : 'tlsKey';
    problems.push(
      `TLS client authentication needs both a certificate and its key; the ${SETTING_NAMES[missing].label} is missing; give ${howToSet(missing)}`,
    );
  }
  const tls = merged.get('tls');
  const anyFile = Object.keys(files).length > 0;
  if (tls?.value === false && anyFile) {
    problems.push(
      `TLS is off (${from('tls', tls.source)}) but TLS settings are given; turn TLS on or drop them`,
    );
  } else if (anyFile) {
    out.ssl = files;
  } else if (tls?.value === true) {
    out.ssl = true;
  }

  if (problems.length > 0) {
    throw new SluiceError(
      'SLUICE_CONFIG_INVALID',
      `Connection security settings are invalid: ${problems.join('; ')}.`,
      { details: { problems } },
    );
  }
  return out;
}

/** True when every field of a group is set; records a problem when only some are. */
function whole(
  fields: Field[],
  what: string,
  merged: Map<Field, unknown>,
  problems: string[],
): boolean {
  const missing = fields.filter((f) => !merged.has(f));
  if (missing.length === fields.length) return false;
  if (missing.length === 0) return true;
  for (const f of missing) {
    problems.push(
      `${what} is half configured: the ${SETTING_NAMES[f].label} is missing; give ${howToSet(f)}`,
    );
  }
  return false;
}
