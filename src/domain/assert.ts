/** Makes a `switch` exhaustive: adding a union member breaks the build until every switch handles it. */
export function assertNever(value: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(value)}`);
}
