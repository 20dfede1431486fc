/** One GraphQL request over HTTP, timed, as the hostile benchmark's callers send it (bench/hostile.ts). */

export interface Answer {
  ms: number;
  /** `data`, an error code, or what went wrong on the way (HTTP status, timeout, connection). */
  outcome: string;
  bytes: number;
  /** The answer's `Retry-After`, in seconds, when it had one. */
  retryAfterSeconds?: number;
}

export async function post(
  url: string,
  token: string,
  query: string,
  variables: Record<string, unknown>,
  timeoutMs: number,
  stop?: AbortSignal,
): Promise<Answer> {
  const started = performance.now();
  try {
    const timeout = AbortSignal.timeout(timeoutMs);
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
      signal: stop ? AbortSignal.any([timeout, stop]) : timeout,
    });
    const text = await res.text();
    const ms = performance.now() - started;
    const retryAfter = Number(res.headers.get('retry-after'));
    const retry = retryAfter > 0 ? { retryAfterSeconds: retryAfter } : {};
    let body: { data?: unknown; errors?: { extensions?: { code?: string } }[] } = {};
    try {
      body = JSON.parse(text);
    } catch {
      return { ms, outcome: `HTTP ${res.status}, not JSON`, bytes: text.length, ...retry };
    }
    const code = body.errors?.[0]?.extensions?.code;
    const outcome = body.errors?.length ? String(code ?? `HTTP ${res.status}`) : body.data ? 'data' : `HTTP ${res.status}`;
    return { ms, outcome, bytes: text.length, ...retry };
  } catch (err) {
    const name = (err as Error).name;
    const outcome = name === 'TimeoutError' ? 'timeout' : name === 'AbortError' ? 'stopped' : 'connection failed';
    return { ms: performance.now() - started, outcome, bytes: 0 };
  }
}
