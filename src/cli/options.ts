import type { SecurityFlags } from '../kafka/security.js';

/** Flags every `sluice` command accepts. */
export interface GlobalOptions extends SecurityFlags {
  brokers?: string;
  registry?: string;
  namespace?: string;
  issuedBy?: string;
}
