import { setTimeout as delay } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { type Answer, post } from './post.js';

/**
 * alice's side of the hostile benchmark (bench/hostile.ts), in a worker thread of her own: her loop of requests
 * has its own event loop and heap, so what bob measures is the gateway, not the time his own client spent waiting
 * behind hers (when both ran on one event loop, alice's flood of refused requests alone doubled bob's p99).
 *
 * workerData: `{ url, token, query, variables, timeoutMs, retryAfter }`. Posts `'started'` after the first answer;
 * on `'stop'` it aborts the request in flight (or its wait) and posts every answer, then ends.
 */
export interface AttackerData {
  url: string;
  token: string;
  query: string;
  variables: Record<string, unknown>;
  timeoutMs: number;
  /**
   * `wait`: a refusal's `Retry-After` is waited out before the next request, so alice sends the operation as often
   * as the limits admit it; `ignore`: the next request goes at once, a flood of refused requests between admitted
   * ones.
   */
  retryAfter: 'wait' | 'ignore';
}

const port = parentPort;
if (!port) throw new Error('bench/hostileAttacker.ts runs as a worker thread');
const d = workerData as AttackerData;
const stop = new AbortController();
port.once('message', () => stop.abort());
const answers: Answer[] = [];
while (!stop.signal.aborted) {
  const answer = await post(d.url, d.token, d.query, d.variables, d.timeoutMs, stop.signal);
  answers.push(answer);
  if (answers.length === 1) port.postMessage('started');
  if (d.retryAfter === 'wait' && answer.retryAfterSeconds)
    await delay(answer.retryAfterSeconds * 1000, undefined, { signal: stop.signal }).catch(() => {});
}
port.postMessage(answers);
