import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { afterEach, expect, it } from 'vitest';
import { Authenticator } from '../../src/auth/Authenticator.js';
import type { Caller } from '../../src/auth/Caller.js';
import { reviewSession } from '../../src/auth/sessions.js';
import { KubeClient } from '../../src/kube/KubeClient.js';
import { eventually } from '../helpers/cluster.js';

const logger = pino({ level: 'silent' });

/** A TokenReview endpoint (the HTTP layer is the only thing faked): accepts tokens until `now` passes `validUntil`. */
async function tokenReviewServer(validUntil: () => number): Promise<{ server: Server; url: string; reviews: () => number }> {
  let reviews = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      reviews++;
      const ok = Date.now() < validUntil();
      const { spec } = JSON.parse(body) as { spec: { token: string } };
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          status: ok ? { authenticated: true, user: { username: 'u', uid: '1', groups: [] } } : { authenticated: false },
          spec,
        }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, reviews: () => reviews };
}

function client(url: string): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: url, skipTLSVerify: true }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'c', cluster: 'c', user: 'u' }],
    currentContext: 'c',
  });
  return new KubeClient({ kubeConfig: kc, logger });
}

const jwt = (exp: number) =>
  `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from(JSON.stringify({ exp })).toString('base64url')}.sig`;

let server: Server | undefined;
afterEach(() => server?.close());

it("ends a session just after its JWT's exp, long before the re-check interval, with one fresh review", async () => {
  const exp = Math.ceil(Date.now() / 1000) + 1; // seconds, as JWTs count
  const fake = await tokenReviewServer(() => exp * 1000);
  server = fake.server;
  const authenticator = new Authenticator({ client: client(fake.url), logger });
  const token = jwt(exp);
  const caller = await authenticator.authenticate(token, 'c');
  expect(caller?.username).toBe('u');
  expect(fake.reviews()).toBe(1);
  let revokedAt = 0;
  const stop = reviewSession({
    authenticator,
    caller: caller as Caller,
    intervalMs: 600_000,
    logger,
    onRevoked: () => (revokedAt = Date.now()),
  });
  await eventually(() => (revokedAt ? true : undefined), 5_000);
  stop();
  expect(revokedAt).toBeGreaterThanOrEqual(exp * 1000);
  expect(fake.reviews()).toBe(2);
  // The fresh answer replaced the cached one: the token is refused without another review.
  expect(await authenticator.authenticate(token, 'c')).toBeNull();
  expect(fake.reviews()).toBe(2);
});

it('re-reviews at the interval, bypassing the cache, and keeps a session whose token still reviews', async () => {
  const fake = await tokenReviewServer(() => Number.POSITIVE_INFINITY);
  server = fake.server;
  const authenticator = new Authenticator({ client: client(fake.url), logger });
  const caller = await authenticator.authenticate('opaque-token', 'c');
  let revoked = false;
  const stop = reviewSession({
    authenticator,
    caller: caller as Caller,
    intervalMs: 50,
    logger,
    onRevoked: () => (revoked = true),
  });
  await eventually(() => (fake.reviews() >= 4 ? true : undefined), 5_000);
  stop();
  expect(revoked).toBe(false);
});
