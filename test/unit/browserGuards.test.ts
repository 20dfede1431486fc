import type { IncomingMessage } from 'node:http';
import { expect, it } from 'vitest';
import { browserGuards, isEventStream } from '../../src/browserGuards.js';

/** Only what the guards read of a request: its headers and the port it came in on. */
const req = (headers: Record<string, string>, localPort = 4000) =>
  ({ headers, socket: { localPort } }) as unknown as IncomingMessage;
const local = browserGuards({ corsOrigins: ['https://app.example/'], loopbackHostsOnly: true });
const named = browserGuards({ corsOrigins: [], loopbackHostsOnly: false });

it.each([
  ['127.0.0.1:4000', undefined],
  ['127.1.2.3:4000', undefined],
  ['localhost:4000', undefined],
  ['[::1]:4000', undefined],
  ['localhost', 421], // port 80, not 4000
  ['127.0.0.1:4001', 421],
  ['evil.example:4000', 421],
  ['localhost.evil.example:4000', 421],
  ['127.0.0.1.nip.io:4000', 421],
  ['user@127.0.0.1:4000', 421],
  ['', 421],
])('in local mode, Host %j is %s', (host, status) => {
  expect(local.host(req(host ? { host } : {}))?.status).toBe(status);
  expect(named.host(req(host ? { host } : {}))).toBeUndefined();
});

it.each([
  [{ host: '127.0.0.1:4000' }, undefined],
  [{ host: '127.0.0.1:4000', origin: 'http://127.0.0.1:4000' }, undefined],
  [{ host: 'gw.example', origin: 'https://gw.example' }, undefined],
  [{ host: '127.0.0.1:4000', origin: 'https://app.example' }, undefined], // listed with a trailing slash
  [{ host: '127.0.0.1:4000', origin: 'http://localhost:4000' }, 403], // another origin, though the same machine
  [{ host: '127.0.0.1:4000', origin: 'https://evil.example' }, 403],
  [{ host: '127.0.0.1:4000', origin: 'null' }, 403],
  [{ host: '127.0.0.1:4000', origin: 'https://app.example.evil.example' }, 403],
])('a stream with %j is %s', (headers, status) => {
  const refusal = local.origin(req(headers));
  expect(refusal?.status).toBe(status);
  if (status) expect(refusal?.code).toBe('ORIGIN_NOT_ALLOWED');
});

it('knows an SSE request by its Accept header', () => {
  expect(isEventStream(req({ accept: 'text/event-stream' }))).toBe(true);
  expect(isEventStream(req({ accept: 'application/json, text/event-stream;q=0.5' }))).toBe(true);
  expect(isEventStream(req({ accept: 'application/json' }))).toBe(false);
});
