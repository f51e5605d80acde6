import type { Command } from 'commander';

/**
 * The connection-security flags, global like --brokers. There is deliberately no flag that takes
 * a password: the command line is visible to every user of the machine (`ps`), so passwords come
 * from a file, an environment variable or the config file.
 */
export function addSecurityOptions(program: Command): void {
  program
    .option(
      '--config <file>',
      'JSON file with ssl, sasl, registryAuth and registryCa settings (env SLUICE_CONFIG); flags and env override it',
    )
    .option('--tls', 'connect to the brokers over TLS (env SLUICE_TLS=true)')
    .option('--tls-ca <file>', 'PEM CA certificate to trust; implies --tls (env SLUICE_TLS_CA)')
    .option('--tls-cert <file>', 'PEM client certificate, with --tls-key (env SLUICE_TLS_CERT)')
    .option('--tls-key <file>', 'PEM client key, with --tls-cert (env SLUICE_TLS_KEY)')
    .option(
      '--sasl-mechanism <m>',
      'plain | scram-sha-256 | scram-sha-512 (env SLUICE_SASL_MECHANISM)',
    )
    .option('--sasl-username <user>', 'SASL username (env SLUICE_SASL_USERNAME)')
    .option(
      '--sasl-password-file <file>',
      'file holding the SASL password (or env SLUICE_SASL_PASSWORD)',
    )
    .option(
      '--registry-user <user>',
      'schema registry basic-auth user (env SLUICE_REGISTRY_USERNAME)',
    )
    .option(
      '--registry-password-file <file>',
      'file holding the registry password (or env SLUICE_REGISTRY_PASSWORD)',
    )
    .option(
      '--registry-ca <file>',
      'PEM CA certificate to trust for an https registry (env SLUICE_REGISTRY_CA)',
    );
}
