import { isSecretKey, REDACTED, redactText } from '../observability/redact.js';

/**
 * A JSON field `"name": value`, the value a string (maybe cut short, as previews are) or a
 * scalar: enough to find a secret's value inside a record's preview.
 */
const JSON_FIELD = /"((?:[^"\\]|\\.)*)"(\s*:\s*)("(?:[^"\\]|\\.)*"?|[^,}\]\s]+)/g;

/**
 * A record's value preview with its secrets replaced. `redacted()` finds secrets by key in
 * objects, but a preview is text: a record of JSON with a `password` field in it is a string
 * by then. Fields named like secrets (`isSecretKey`) lose their values, whether the preview
 * parses or was cut mid-record, and URL passwords and private keys go as everywhere else.
 */
export function redactPreview(text: string): string {
  return redactText(text).replace(JSON_FIELD, (field, key: string, colon: string) =>
    isSecretKey(key) ? `"${key}"${colon}"${REDACTED}"` : field,
  );
}
