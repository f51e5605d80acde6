import { createHash } from 'node:crypto';

/**
 * How much of the sha256 a fingerprint keeps, in hex characters: 48 bits tell a namespace's few
 * deployed versions of a pipeline apart, and stay short enough to read in `sluice status`.
 */
export const FINGERPRINT_CHARS = 12;

/** What identifies the code of a hosted pipeline. */
export interface PipelineCode {
  /** The name the pipeline is registered under: the same code under two names is two pipelines. */
  pipeline: string;
  /**
   * The code's text: the module file's content for `sluice worker`, the factory's source
   * (`factory.toString()`) for `worker.register`.
   */
  source: string;
  /** A version the deployer gives (a release, a commit); undefined or empty for none. */
  version?: string | undefined;
}

/**
 * The fingerprint of a pipeline's code: the first {@link FINGERPRINT_CHARS} hex characters of
 * the sha256 of its name, version and source. Pure: the same code gives the same fingerprint on
 * every worker, so a failure's fingerprint can be compared with what the live workers run.
 */
export function codeFingerprint({ pipeline, source, version }: PipelineCode): string {
  // A JSON array keeps the parts apart: ("ab", "c") and ("a", "bc") hash differently.
  const text = JSON.stringify([pipeline, version || null, source]);
  return createHash('sha256').update(text).digest('hex').slice(0, FINGERPRINT_CHARS);
}
