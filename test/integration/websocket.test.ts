import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { eventually } from '../helpers/cluster.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

/** graphql-ws details: the limits a public endpoint needs, on a real server and socket. */
let gateway: TestGateway;
let url: string;

beforeAll(async () => {
  gateway = await startGateway({
    kinds: ['PipelineResource'],
    websocket: { maxMessageBytes: 4096, maxSubscriptionsPerConnection: 3, connectionInitTimeoutMs: 300, maxConnections: 5 },
  });
  url = gateway.url.replace('http', 'ws');
});

afterAll(async () => {
  await gateway?.stop();
});

function open(): Promise<{ socket: WebSocket; messages: unknown[]; closed: Promise<number> }> {
  const socket = new WebSocket(url, 'graphql-transport-ws');
  const messages: unknown[] = [];
  socket.on('message', (m) => messages.push(JSON.parse(String(m))));
  const closed = new Promise<number>((r) => socket.once('close', (code) => r(code)));
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve({ socket, messages, closed }));
    socket.once('error', reject);
  });
}

async function ready() {
  const c = await open();
  c.socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
  await eventually(() => (c.messages.some((m) => (m as { type: string }).type === 'connection_ack') ? true : undefined));
  return c;
}

describe('WebSocket limits', () => {
  it('closes a socket that never sends connection_init (4408)', async () => {
    const c = await open();
    expect(await c.closed).toBe(4408);
  });

  it('closes a socket that sends an oversized message (1009)', async () => {
    const c = await ready();
    c.socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: `{ ${'a'.repeat(10_000)} }` } }));
    expect(await c.closed).toBe(1009);
  });

  it('refuses subscriptions past the per-connection limit, keeping the others', async () => {
    const c = await ready();
    for (let i = 1; i <= 4; i++) {
      c.socket.send(
        JSON.stringify({
          id: String(i),
          type: 'subscribe',
          payload: { query: 'subscription { pipelineResourceEvents { type } }' },
        }),
      );
    }
    await eventually(() => (c.messages.some((m) => (m as { type: string }).type === 'error') ? true : undefined));
    const errors = c.messages.filter((m) => (m as { type: string }).type === 'error') as {
      id: string;
      payload: { extensions?: { code?: string } }[];
    }[];
    expect(errors.map((e) => [e.id, e.payload[0]?.extensions?.code])).toEqual([['4', 'TOO_MANY_SUBSCRIPTIONS']]);
    c.socket.close();
    await c.closed;
  });

  it('turns away connections past the limit with 1013', async () => {
    const held = await Promise.all(Array.from({ length: 5 }, () => ready()));
    const extra = await open();
    expect(await extra.closed).toBe(1013);
    for (const h of held) h.socket.close();
    await Promise.all(held.map((h) => h.closed));
  });

  it('refuses a subscription past the start rate alone, keeping the socket, its other subscriptions and the query budget', async () => {
    // Subscription starts have a budget of their own (two here); queries keep theirs (two, untouched by them).
    const limited = await startGateway({
      kinds: ['PipelineResource'],
      http: { rate: { burst: 2, perSecond: 0.001, subscribeBurst: 2, subscribePerSecond: 0.001 } },
    });
    const { cache } = limited;
    try {
      const socket = new WebSocket(limited.url.replace('http', 'ws'), 'graphql-transport-ws');
      const messages: { id?: string; type: string; payload?: { extensions?: { code?: string } }[] }[] = [];
      socket.on('message', (m) => messages.push(JSON.parse(String(m))));
      let closed = false;
      socket.on('close', () => {
        closed = true;
      });
      await new Promise((r) => socket.once('open', r));
      socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
      await eventually(() => (messages.some((m) => m.type === 'connection_ack') ? true : undefined));
      for (let i = 1; i <= 3; i++) {
        socket.send(
          JSON.stringify({
            id: String(i),
            type: 'subscribe',
            payload: { query: 'subscription { pipelineResourceEvents { type } }' },
          }),
        );
      }
      await eventually(() => (messages.some((m) => m.id === '3') ? true : undefined));
      const third = messages.filter((m) => m.id === '3');
      expect(JSON.stringify(third)).toContain('RATE_LIMITED');
      await eventually(() => (cache.kind('PipelineResource').listenerCount === 2 ? true : undefined));
      expect(closed).toBe(false);
      // The subscriptions spent none of the operation budget: two queries answer, the third is refused.
      const query = () =>
        fetch(limited.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: '{ __typename }' }),
        });
      expect((await query()).status).toBe(200);
      expect((await query()).status).toBe(200);
      const refused = await query();
      expect(refused.status).toBe(429);
      expect((await refused.json()).errors[0].extensions.code).toBe('RATE_LIMITED');
      socket.close();
    } finally {
      await limited.stop();
    }
  });
});
