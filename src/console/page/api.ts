import type { ApiError, ConsoleInfo, JobDetail, JobRow, StreamMessage } from '../api-types.js';

/** A refusal or failure the API answered with, shown to the user as it came. */
export class ApiFailure extends Error {
  constructor(readonly body: ApiError['error']) {
    super(body.message);
  }
}

async function call<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await fetch(path, { credentials: 'same-origin', ...init });
  const body = (await res.json()) as T | ApiError;
  if (!res.ok) throw new ApiFailure((body as ApiError).error);
  return body as T;
}

export const api = {
  info: () => call<ConsoleInfo>('/api/info'),
  jobs: () => call<JobRow[]>('/api/jobs'),
  job: (id: string) => call<JobDetail>(`/api/jobs/${encodeURIComponent(id)}`),
  act: (id: string, body: Record<string, unknown>) =>
    call<{ row: JobRow }>(`/api/jobs/${encodeURIComponent(id)}/actions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-sluice-console': '1' },
      body: JSON.stringify(body),
    }),
};

/**
 * Follows the server's event stream. EventSource reconnects by itself after a drop; each
 * reconnect says hello again, and the page then reloads what it shows, since events may have
 * passed while it was away.
 */
export function follow(
  onMessage: (m: StreamMessage) => void,
  onHello: () => void,
  onDown: () => void,
): EventSource {
  const source = new EventSource('/api/events');
  source.addEventListener('hello', onHello);
  source.onmessage = (e: MessageEvent<string>) => onMessage(JSON.parse(e.data) as StreamMessage);
  source.onerror = onDown;
  return source;
}
