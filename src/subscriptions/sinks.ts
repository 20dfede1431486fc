import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { PushSink } from './FanOut.js';

/**
 * Bytes a socket may hold unsent before its subscribers' events wait in their
 * own queues instead: enough for a tick of 100 subscriptions' events, small
 * enough that a client that stops reading holds little here.
 */
export const socketHighWaterBytes = 256 * 1024;

/**
 * graphql-ws `next` messages on a WebSocket. `tcp` is the socket under it
 * (the upgrade request's): corked for a tick, so that tick's messages leave
 * in one write, and its unsent bytes say when the client falls behind.
 */
export function webSocketSink(socket: WebSocket, tcp: Socket): PushSink {
  return {
    frame: (id, json) => `{"id":${JSON.stringify(id)},"type":"next","payload":${json}}`,
    write: (frame) => socket.send(frame),
    full: () => tcp.writableLength >= socketHighWaterBytes,
    onDrain: (fn) => tcp.once('drain', fn),
    cork: () => tcp.cork(),
    uncork: () => tcp.uncork(),
    get closed() {
      return socket.readyState !== socket.OPEN;
    },
  };
}
