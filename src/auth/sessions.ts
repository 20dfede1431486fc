import type { Logger } from 'pino';
import type { Authenticator } from './Authenticator.js';
import { type Caller, identityKey } from './Caller.js';

/** The `exp` of a JWT, in ms since the epoch, read without verifying: only to schedule a review. */
export function jwtExpiry(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (!payload || token.split('.').length !== 3) return undefined;
  try {
    const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined; // not a JWT: reviewed at the interval only
  }
}

export interface SessionReviewOptions {
  authenticator: Authenticator;
  caller: Caller;
  /** The access re-check interval (SubscriptionLimits.accessRecheckMs). */
  intervalMs: number;
  logger: Logger;
  /** Called once when the token no longer reviews as the same identity. */
  onRevoked: () => void;
}

/**
 * Keeps a long-lived session (a WebSocket, an SSE stream) honest: its token is
 * reviewed again, bypassing the token cache, every `intervalMs` and just after
 * a JWT's `exp`. A token Kubernetes no longer accepts, or that now names
 * another identity, ends the session; a review that fails to reach Kubernetes
 * is tried again at the next tick. Returns a function that stops it.
 */
export function reviewSession(options: SessionReviewOptions): () => void {
  const { authenticator, caller, intervalMs, logger, onRevoked } = options;
  const token = caller.token;
  if (!token) return () => {}; // anonymous: nothing to re-review
  const expiry = jwtExpiry(token);
  const identity = identityKey(caller);
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = () => {
    const untilExpiry = expiry === undefined ? Number.POSITIVE_INFINITY : expiry - Date.now() + 1_000;
    // An expired token is reviewed at the interval, not in a loop.
    const delay = Math.min(intervalMs, untilExpiry > 0 ? untilExpiry : intervalMs);
    timer = setTimeout(tick, delay);
    timer.unref();
  };
  const tick = () => {
    authenticator.review(token).then(
      (now) => {
        if (stopped) return;
        if (!now || identityKey(now) !== identity) {
          stopped = true;
          logger.info({ user: caller.username }, 'session ended: its token no longer authenticates');
          onRevoked();
          return;
        }
        schedule();
      },
      (err: unknown) => {
        logger.warn({ err, user: caller.username }, 'session token review failed; trying again later');
        if (!stopped) schedule();
      },
    );
  };
  schedule();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
