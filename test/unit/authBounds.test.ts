import { describe, expect, it } from 'vitest';
import { AccessReviewBudget } from '../../src/auth/AccessReviewBudget.js';
import { AuthFailureLimiter } from '../../src/auth/AuthFailureLimiter.js';
import { identityKey } from '../../src/auth/Caller.js';
import { isNamespaceName, isObjectName } from '../../src/auth/names.js';
import { jwtExpiry } from '../../src/auth/sessions.js';
import { TtlCache } from '../../src/auth/TtlCache.js';
import { extraHeaderKey } from '../../src/kube/KubeClient.js';
import { eventually } from '../helpers/cluster.js';

const answer = (v: string) => async () => ({ v });

describe('TtlCache', () => {
  const cache = (o: { ttlMs?: number; maxEntries?: number; maxBytes?: number }) =>
    new TtlCache<{ v: string }>({
      ttlMs: o.ttlMs ?? 60_000,
      maxEntries: o.maxEntries ?? 1_000,
      maxBytes: o.maxBytes ?? 1_000_000,
      sizeOf: (value) => value.v.length,
    });

  it('holds at most maxEntries, dropping the least recently used', async () => {
    const c = cache({ maxEntries: 3 });
    for (const k of ['a', 'b', 'c', 'd', 'e']) await c.get(k, answer('x'));
    expect(c.size).toBe(3);
    expect(['a', 'b', 'c', 'd', 'e'].map((k) => c.has(k))).toEqual([false, false, true, true, true]);
  });

  it('holds at most maxBytes, whatever the entry count allows', async () => {
    const c = cache({ maxBytes: 250 });
    for (let i = 0; i < 10; i++) await c.get(`k${i}`, answer('x'.repeat(100)));
    expect(c.size).toBe(2);
    expect(c.bytes).toBe(200);
    // One larger than the whole bound is answered but never kept.
    expect(await c.get('huge', answer('y'.repeat(300)))).toEqual({ v: 'y'.repeat(300) });
    expect(c.has('huge')).toBe(false);
    expect(c.bytes).toBe(200);
  });

  it('drops expired entries without being touched', async () => {
    const c = cache({ ttlMs: 30 });
    for (const k of ['a', 'b', 'c']) await c.get(k, answer('x'));
    expect(c.size).toBe(3);
    await eventually(() => (c.size === 0 ? true : undefined), 2_000);
    expect(c.bytes).toBe(0);
  });

  it('shares one load among concurrent callers and keeps no failure', async () => {
    const c = cache({});
    let loads = 0;
    const slow = async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 20));
      return { v: 'ok' };
    };
    const answers = await Promise.all(Array.from({ length: 10 }, () => c.get('k', slow)));
    expect(loads).toBe(1);
    expect(answers.every((a) => a.v === 'ok')).toBe(true);
    await expect(c.get('bad', () => Promise.reject(new Error('apiserver down')))).rejects.toThrow('apiserver down');
    expect(c.has('bad')).toBe(false);
    expect(await c.get('bad', answer('later'))).toEqual({ v: 'later' });
  });

  it('keeps an answer set while a load was in flight: the older load does not overwrite it', async () => {
    const c = cache({});
    let release: () => void = () => {};
    const stale = c.get('k', () => new Promise((r) => (release = () => r({ v: 'older' }))));
    // A session's fresh review stores its answer (Authenticator.review) while a cached lookup is still loading.
    c.set('k', { v: 'fresh' });
    release();
    expect(await stale).toEqual({ v: 'older' });
    expect(await c.get('k', answer('reloaded'))).toEqual({ v: 'fresh' });
  });

  it('answers a load slower than the TTL, and one whose neighbours evict everything meanwhile', async () => {
    const c = cache({ ttlMs: 10, maxEntries: 1 });
    let release: () => void = () => {};
    const slow = c.get('slow', () => new Promise((r) => (release = () => r({ v: 'late' }))));
    for (const k of ['a', 'b', 'c']) await c.get(k, answer('x'));
    await new Promise((r) => setTimeout(r, 50)); // past the TTL, on purpose: the load must outlive it
    release();
    expect(await slow).toEqual({ v: 'late' });
  });
});

describe('AccessReviewBudget', () => {
  it('charges distinct questions once each and refuses the one past its max with TOO_MANY_ACCESS_REVIEWS', () => {
    const budget = new AccessReviewBudget(3);
    for (const q of ['a', 'b', 'a', 'c', 'b']) budget.charge(q);
    expect(budget.used).toBe(3);
    let code: unknown;
    try {
      budget.charge('d');
    } catch (err) {
      code = (err as { extensions?: { code?: string } }).extensions?.code;
    }
    expect(code).toBe('TOO_MANY_ACCESS_REVIEWS');
    budget.charge('c'); // already charged: still free
    expect(budget.used).toBe(3);
  });
});

describe('AuthFailureLimiter', () => {
  it('gives a client maxFailures reviews that fail (in flight ones hold a place), others their own, successes free', () => {
    const limiter = new AuthFailureLimiter({ maxFailures: 3, windowMs: 60_000 });
    const places = [limiter.begin('10.0.0.1'), limiter.begin('10.0.0.1'), limiter.begin('10.0.0.1')];
    expect(places.every((p) => p !== undefined)).toBe(true);
    expect(limiter.begin('10.0.0.1')).toBeUndefined(); // three in flight
    places[0]?.(false); // that token was good: its place is free again
    const fourth = limiter.begin('10.0.0.1');
    expect(fourth).toBeTypeOf('function');
    places[1]?.(true);
    places[2]?.(true);
    fourth?.(true);
    expect(limiter.begin('10.0.0.1')).toBeUndefined();
    expect(limiter.retryAfterSeconds('10.0.0.1')).toBe(60);
    expect(limiter.begin('10.0.0.2')).toBeTypeOf('function');
  });

  it('forgets a client when its window ends', async () => {
    // A window long enough that the second begin falls inside it on a loaded machine (30 ms did not).
    const limiter = new AuthFailureLimiter({ maxFailures: 1, windowMs: 1_000 });
    limiter.begin('c')?.(true);
    expect(limiter.begin('c')).toBeUndefined();
    await eventually(() => limiter.begin('c'), 5_000);
  });
});

describe('names', () => {
  it('accepts DNS-1123 namespaces (labels, ≤ 63) and object names (subdomains, ≤ 253) only', () => {
    expect(['team-a', 'a', '0', 'a'.repeat(63)].map(isNamespaceName)).toEqual([true, true, true, true]);
    expect(['', 'Team-a', 'team_a', '-a', 'a-', 'a.b', 'a'.repeat(64), '../x'].map(isNamespaceName)).toEqual(
      Array(8).fill(false),
    );
    expect(['api-repo', 'a.b.c', 'a'.repeat(253)].map(isObjectName)).toEqual([true, true, true]);
    expect(['', 'A', 'a..b', '.a', 'a/b', 'a'.repeat(254)].map(isObjectName)).toEqual(Array(6).fill(false));
  });
});

describe('identity', () => {
  it('differs for the same user with another uid or extra, not for the order of groups or extras', () => {
    const base = { username: 'system:serviceaccount:a:b', groups: ['g1', 'g2'] };
    const scoped = { ...base, uid: 'u1', extra: { 'authentication.kubernetes.io/credential-id': ['JTI=1'] } };
    expect(identityKey(base)).not.toBe(identityKey(scoped));
    expect(identityKey(scoped)).not.toBe(
      identityKey({ ...scoped, extra: { 'authentication.kubernetes.io/credential-id': ['JTI=2'] } }),
    );
    expect(identityKey({ ...scoped, groups: ['g2', 'g1'] })).toBe(identityKey(scoped));
    expect(identityKey({ ...base, extra: { b: ['1'], a: ['2'] } })).toBe(identityKey({ ...base, extra: { a: ['2'], b: ['1'] } }));
  });

  it('percent-encodes extra keys for Impersonate-Extra-<key> as client-go does', () => {
    expect(extraHeaderKey('authentication.kubernetes.io/credential-id')).toBe('authentication.kubernetes.io%2Fcredential-id');
    expect(extraHeaderKey('a b%c=é')).toBe('a%20b%25c%3D%C3%A9');
    expect(extraHeaderKey("scopes!#$&'*+-.^_`|~")).toBe("scopes!#$&'*+-.^_`|~");
  });

  it("reads a JWT's exp without verifying it, and nothing from what is not a JWT", () => {
    const jwt = (payload: object) =>
      `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.sig`;
    expect(jwtExpiry(jwt({ exp: 1_900_000_000 }))).toBe(1_900_000_000_000);
    expect(jwtExpiry(jwt({ sub: 'x' }))).toBeUndefined();
    expect(jwtExpiry(jwt({ exp: 'soon' }))).toBeUndefined();
    expect(jwtExpiry('alice-token')).toBeUndefined();
    expect(jwtExpiry('a.!!!.c')).toBeUndefined();
  });
});
