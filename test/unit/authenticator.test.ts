import type { Server } from 'node:http';
import pino from 'pino';
import { afterEach, expect, it } from 'vitest';
import { Authenticator } from '../../src/auth/Authenticator.js';
import type { Caller } from '../../src/auth/Caller.js';
import { reviewSession } from '../../src/auth/sessions.js';
import { eventually } from '../helpers/cluster.js';
import { kubeClientFor, tokenReviewServer } from '../helpers/fakeTokenReview.js';

const logger = pino({ level: 'silent' });

const jwt = (exp: number) =>
  `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from(JSON.stringify({ exp })).toString('base64url')}.sig`;

let server: Server | undefined;
afterEach(() => server?.close());

it("ends a session just after its JWT's exp, long before the re-check interval, with one fresh review", async () => {
  const exp = Math.ceil(Date.now() / 1000) + 1; // seconds, as JWTs count
  const fake = await tokenReviewServer(() => Date.now() < exp * 1000);
  server = fake.server;
  const authenticator = new Authenticator({ client: kubeClientFor(fake.url), logger });
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
  const fake = await tokenReviewServer(() => true);
  server = fake.server;
  const authenticator = new Authenticator({ client: kubeClientFor(fake.url), logger });
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

it('keeps the token cache under its bytes bound: a long token evicts others, which are then reviewed again', async () => {
  const fake = await tokenReviewServer((t) => t.startsWith('good-'));
  server = fake.server;
  // An answer weighs its key (43 chars) and the caller's JSON with its token, 2 bytes a char, plus 64.
  const authenticator = new Authenticator({ client: kubeClientFor(fake.url), logger, cache: { maxBytes: 2_000 } });
  const short = ['good-1', 'good-2', 'good-3'];
  for (const t of short) expect((await authenticator.authenticate(t, 'c'))?.username).toBe('u');
  expect(fake.reviews()).toBe(3);
  for (const t of short) await authenticator.authenticate(t, 'c');
  expect(fake.reviews()).toBe(3); // all three fit: answered from the cache
  // Short answers weigh 258 bytes, this one 1,656: with it, only the most recently used short one still fits.
  await authenticator.authenticate(`good-${'x'.repeat(700)}`, 'c');
  expect(fake.reviews()).toBe(4);
  await authenticator.authenticate('good-3', 'c');
  expect(fake.reviews()).toBe(4);
  await authenticator.authenticate('good-1', 'c');
  expect(fake.reviews()).toBe(5);
});

it("keeps a JWT's answer no longer than its exp, however long the cache's TTL", async () => {
  const exp = Math.ceil(Date.now() / 1000) + 1;
  const fake = await tokenReviewServer(() => Date.now() < exp * 1000);
  server = fake.server;
  const authenticator = new Authenticator({ client: kubeClientFor(fake.url), logger, cache: { ttlMs: 600_000 } });
  const token = jwt(exp);
  expect((await authenticator.authenticate(token, 'c'))?.username).toBe('u');
  expect(await authenticator.authenticate(token, 'c')).not.toBeNull();
  expect(fake.reviews()).toBe(1);
  // After exp the answer is gone: the next request is reviewed again, and refused.
  const refused = await eventually(
    async () => ((await authenticator.authenticate(token, 'c')) === null ? true : undefined),
    5_000,
  );
  expect(refused).toBe(true);
  expect(fake.reviews()).toBe(2);
});
