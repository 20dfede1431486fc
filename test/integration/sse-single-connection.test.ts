import { createClient } from 'graphql-sse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenHeader } from '../../src/sseReservations.js';
import { createNamespace, eventually } from '../helpers/cluster.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { userToken } from '../helpers/hostile.js';
import { createObjects, gitResource } from '../helpers/objects.js';

/**
 * graphql-sse's single connection mode (a reservation) on /graphql, with the
 * `graphql-sse` client itself: several subscriptions and a query share one
 * event stream, each result framed with its operation id.
 */

let gw: TestGateway;
let ns: string;
let remove: () => Promise<void>;

beforeAll(async () => {
  ({ name: ns, remove } = await createNamespace('sse-single'));
  gw = await startGateway({ auth: 'token' });
});

afterAll(async () => {
  await gw?.stop();
  await remove?.();
});

interface Ev {
  type: string;
  object: { name: string; type?: string } | null;
}

describe('graphql-sse single connection mode', () => {
  it('carries two subscriptions and a query on one stream; ending one leaves the other', async () => {
    const streams: string[] = [];
    const client = createClient({
      url: gw.url,
      singleConnection: true,
      headers: { authorization: `Bearer ${userToken('admin')}` },
      // Counts the event streams the client opens: one, whatever it runs on it.
      fetchFn: (input: RequestInfo | URL, init?: RequestInit) => {
        if (new Headers(init?.headers).get('accept') === 'text/event-stream') streams.push(String(input));
        return fetch(input, init);
      },
      retryAttempts: 0,
    });
    const cache = gw.cache.kind('PipelineResource');
    const seen: Record<'all' | 'named', Ev[]> = { all: [], named: [] };
    const errors: unknown[] = [];
    const subscribe = (key: 'all' | 'named', query: string) =>
      client.subscribe<Record<string, Ev>>(
        { query },
        {
          next: (r) => {
            if (r.errors) errors.push(r.errors);
            if (r.data) seen[key].push(r.data.pipelineResourceEvents as Ev);
          },
          error: (e) => errors.push(e),
          complete: () => {},
        },
      );
    const stopAll = subscribe('all', `subscription { pipelineResourceEvents(namespace: "${ns}") { type object { name } } }`);
    const stopNamed = subscribe(
      'named',
      `subscription { pipelineResourceEvents(namespace: "${ns}", name: "two") { type object { name type } } }`,
    );
    await eventually(() => (cache.listenerCount === 2 ? true : undefined));
    const answer = await new Promise<unknown>((resolve, reject) => {
      let data: unknown;
      client.subscribe(
        { query: '{ resourceTypes { name } }' },
        { next: (r) => (data = r.data), error: reject, complete: () => resolve(data) },
      );
    });
    expect((answer as { resourceTypes: { name: string }[] }).resourceTypes.map((t) => t.name)).toContain('git');

    await createObjects(ns, [gitResource('one'), gitResource('two')]);
    await eventually(() => (seen.all.length === 2 && seen.named.length === 1 ? true : undefined));
    expect(seen.all.map((e) => `${e.type} ${e.object?.name}`)).toEqual(['ADDED one', 'ADDED two']);
    expect(seen.named).toEqual([{ type: 'ADDED', object: { name: 'two', type: 'git' } }]);

    // Ending one (DELETE ?operationId=) ends it alone.
    stopNamed();
    await eventually(() => (cache.listenerCount === 1 ? true : undefined));
    await createObjects(ns, [gitResource('three')]);
    await eventually(() => (seen.all.length === 3 ? true : undefined));
    expect(seen.all.at(-1)).toEqual({ type: 'ADDED', object: { name: 'three' } });
    expect(seen.named).toHaveLength(1);
    expect(errors).toEqual([]);
    expect(streams).toHaveLength(1);
    stopAll();
    client.dispose();
    await eventually(() => (cache.listenerCount === 0 ? true : undefined));
  });

  it('reserves only for an authenticated caller, and a token serves only who reserved it', async () => {
    const anonymous = await fetch(gw.url, { method: 'PUT' });
    expect(anonymous.status).toBe(401);
    expect((await anonymous.json()).errors[0].extensions.code).toBe('UNAUTHENTICATED');

    const reserved = await fetch(gw.url, { method: 'PUT', headers: { authorization: `Bearer ${userToken('alice')}` } });
    expect(reserved.status).toBe(201);
    const token = await reserved.text();
    expect(token).toMatch(/^[0-9a-f-]{36}$/);
    // bob presenting alice's reservation is told there is no such stream.
    const stolen = await fetch(gw.url, {
      headers: { authorization: `Bearer ${userToken('bob')}`, accept: 'text/event-stream', [tokenHeader]: token },
    });
    expect(stolen.status).toBe(404);
    expect((await stolen.json()).errors[0].extensions.code).toBe('NOT_FOUND');
    // An operation for a stream that does not exist is refused the same way.
    const unknown = await fetch(gw.url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${userToken('alice')}`,
        'content-type': 'application/json',
        [tokenHeader]: '00000000-0000-4000-8000-000000000000',
      },
      body: JSON.stringify({ query: '{ resourceTypes { name } }', extensions: { operationId: '1' } }),
    });
    expect(unknown.status).toBe(404);
  });
});
