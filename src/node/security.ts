import { readFileSync } from 'node:fs';
import { SluiceError } from '../domain/errors.js';
import {
  compact,
  compileSecurity,
  fileLayer,
  type ConnectionSecurity,
  type SecurityLayer,
} from '../domain/security.js';

/**
 * Security settings as command-line flags give them. Passwords come from files, never from the
 * command line itself, where every user of the machine could read them in `ps`.
 */
export interface SecurityFlags {
  config?: string | undefined;
  tls?: boolean | undefined;
  tlsCa?: string | undefined;
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
  saslMechanism?: string | undefined;
  saslUsername?: string | undefined;
  saslPasswordFile?: string | undefined;
  registryUser?: string | undefined;
  registryPasswordFile?: string | undefined;
  registryCa?: string | undefined;
}

/**
 * Loads the connection security settings, with flags over environment variables over the config
 * file (`--config`, else SLUICE_CONFIG), field by field: a config file may name the user and a
 * secret store put the password in SLUICE_SASL_PASSWORD. Throws SLUICE_CONFIG_INVALID.
 */
export function loadSecurity(
  opts: { flags?: SecurityFlags; env?: NodeJS.ProcessEnv } = {},
): ConnectionSecurity {
  const flags = opts.flags ?? {};
  const env = opts.env ?? process.env;
  const layers: SecurityLayer[] = [flagsLayer(flags), envLayer(env)];
  const configFile = nonEmpty(flags.config) ?? nonEmpty(env.SLUICE_CONFIG);
  if (configFile !== undefined) layers.push(fileLayer(readConfigFile(configFile), configFile));
  return compileSecurity(layers);
}

/** The flags' layer; password files are read here, so a missing one is reported at start-up. */
export function flagsLayer(flags: SecurityFlags): SecurityLayer {
  return {
    source: 'flags',
    settings: compact({
      // Commander sets a boolean flag only when given; `--tls-ca` alone implies TLS anyway.
      tls: flags.tls === true ? true : undefined,
      tlsCa: flags.tlsCa,
      tlsCert: flags.tlsCert,
      tlsKey: flags.tlsKey,
      saslMechanism: flags.saslMechanism,
      saslUsername: flags.saslUsername,
      saslPassword: readSecretFile(flags.saslPasswordFile, '--sasl-password-file'),
      registryUsername: flags.registryUser,
      registryPassword: readSecretFile(flags.registryPasswordFile, '--registry-password-file'),
      registryCa: flags.registryCa,
    }),
  };
}

/** The environment's layer. Empty variables count as unset, as a shell's `VAR=` usually means. */
export function envLayer(env: NodeJS.ProcessEnv): SecurityLayer {
  return {
    source: 'env',
    settings: compact({
      tls: parseBool(env.SLUICE_TLS, 'SLUICE_TLS'),
      tlsCa: nonEmpty(env.SLUICE_TLS_CA),
      tlsCert: nonEmpty(env.SLUICE_TLS_CERT),
      tlsKey: nonEmpty(env.SLUICE_TLS_KEY),
      saslMechanism: nonEmpty(env.SLUICE_SASL_MECHANISM),
      saslUsername: nonEmpty(env.SLUICE_SASL_USERNAME),
      saslPassword: nonEmpty(env.SLUICE_SASL_PASSWORD),
      registryUsername: nonEmpty(env.SLUICE_REGISTRY_USERNAME),
      registryPassword: nonEmpty(env.SLUICE_REGISTRY_PASSWORD),
      registryCa: nonEmpty(env.SLUICE_REGISTRY_CA),
    }),
  };
}

/** A file's text; one that cannot be read is a config error worded by `cannot(reason)`. */
function readText(path: string, cannot: (reason: string) => string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new SluiceError(
      'SLUICE_CONFIG_INVALID',
      cannot((err as NodeJS.ErrnoException).code ?? String(err)),
      { details: { file: path } },
    );
  }
}

/**
 * The PEM text of `security.registryCa`, read now (when a client is made, as the broker's TLS
 * files are), or undefined when none is set; a file that cannot be read is SLUICE_CONFIG_INVALID.
 */
export function registryCaOf(security: ConnectionSecurity | undefined): string | undefined {
  const path = security?.registryCa;
  if (path === undefined) return undefined;
  return readText(
    path,
    (reason) =>
      `Cannot read the registry CA file ${path} (--registry-ca, SLUICE_REGISTRY_CA or registryCa in the config file): ${reason}. Give the path of a PEM file.`,
  );
}

function readConfigFile(path: string): unknown {
  const raw = readText(
    path,
    (reason) =>
      `Cannot read the config file ${path} (--config or SLUICE_CONFIG): ${reason}. Check the path.`,
  );
  try {
    return JSON.parse(raw) as unknown;
  } catch (err) {
    throw new SluiceError(
      'SLUICE_CONFIG_INVALID',
      // JSON.parse's message quotes the text near the mistake, which may be a password.
      `Config file ${path} is not valid JSON${err instanceof SyntaxError ? positionOf(err) : ''}. Fix its syntax; see "Secure connections" in the README for an example.`,
      { details: { file: path } },
    );
  }
}

function positionOf(err: SyntaxError): string {
  const m = /position (\d+)/.exec(err.message);
  return m ? ` (near character ${m[1]})` : '';
}

/** A password from a file: one line; the trailing newline an editor or `echo` adds is dropped. */
function readSecretFile(path: string | undefined, flag: string): string | undefined {
  if (path === undefined) return undefined;
  const raw = readText(
    path,
    (reason) => `Cannot read ${flag} ${path}: ${reason}. Give a file holding only the password.`,
  );
  const secret = raw.replace(/\r?\n$/, '');
  if (secret.length === 0) {
    throw new SluiceError(
      'SLUICE_CONFIG_INVALID',
      `${flag} ${path} is empty. Give a file holding only the password.`,
      { details: { file: path } },
    );
  }
  return secret;
}

function parseBool(raw: string | undefined, name: string): boolean | undefined {
  const v = raw?.trim().toLowerCase();
  if (v === undefined || v === '') return undefined;
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new SluiceError(
    'SLUICE_CONFIG_INVALID',
    `${name}="${raw}" is not a boolean. Use true or false.`,
    { details: { variable: name } },
  );
}

function nonEmpty(s: string | undefined): string | undefined {
  return s !== undefined && s.trim().length > 0 ? s : undefined;
}
