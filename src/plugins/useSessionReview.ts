import { type ExecutionResult, GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import type { Authenticator } from '../auth/Authenticator.js';
import { reviewSession } from '../auth/sessions.js';
import type { Context } from '../context.js';

export interface SessionReviewOptions {
  authenticator: Authenticator;
  logger: Logger;
}

/**
 * An SSE subscription is a session of its own: its token is reviewed again at
 * the access re-check interval and at a JWT's `exp` (src/auth/sessions.ts), and
 * a token that no longer reviews ends the stream with an UNAUTHENTICATED error
 * event. WebSocket sessions are reviewed per socket (src/app.ts), which closes
 * with 4401 instead.
 */
export function useSessionReview(options: SessionReviewOptions): Plugin<Context> {
  return {
    onSubscribe({ args }) {
      const ctx = args.contextValue;
      if (ctx.closeConnection) return; // a WebSocket: reviewed per socket
      return {
        onSubscribeResult({ result, setResult }) {
          if (!(Symbol.asyncIterator in result)) return;
          let revoke = () => {};
          const revoked = new Promise<void>((resolve) => {
            revoke = resolve;
          });
          const stop = reviewSession({
            authenticator: options.authenticator,
            caller: ctx.caller,
            intervalMs: ctx.subscriptions.accessRecheckMs,
            logger: ctx.logger,
            onRevoked: revoke,
          });
          setResult(untilRevoked(result, revoked, stop));
        },
      };
    },
  };
}

const sessionEnded = () =>
  new GraphQLError('Session ended: the token no longer authenticates.', { extensions: { code: 'UNAUTHENTICATED' } });

/**
 * `source`, until `revoked` settles: then one UNAUTHENTICATED error and the
 * end. Written as an iterator, not a generator, so that `return()` (the client
 * went away) ends the source at once, without waiting for its next event.
 */
function untilRevoked(
  source: AsyncIterable<ExecutionResult>,
  revoked: Promise<void>,
  stop: () => void,
): AsyncIterableIterator<ExecutionResult> {
  const it = source[Symbol.asyncIterator]();
  const ended = revoked.then(() => 'revoked' as const);
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    stop();
    it.return?.().catch(() => {});
  };
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      if (done) return { done: true, value: undefined };
      const next = await Promise.race([it.next(), ended]);
      if (next === 'revoked') {
        finish();
        return { done: false, value: { errors: [sessionEnded()] } };
      }
      if (next.done) {
        done = true;
        stop();
      }
      return next;
    },
    async return() {
      finish();
      return { done: true, value: undefined };
    },
  };
}
