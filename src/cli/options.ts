/** Flags every `sluice` command accepts. */
export interface GlobalOptions {
  brokers?: string;
  registry?: string;
  namespace?: string;
  issuedBy?: string;
}
