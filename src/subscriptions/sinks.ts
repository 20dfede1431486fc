import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { PushSink } from './FanOut.js';

const opening = Buffer.from('{"id":');
const next = Buffer.from(',"type":"next","payload":');
const closing = Buffer.from('}');

/**
 * graphql-ws `next` messages on a WebSocket, written as WebSocket frames
 * straight to `tcp`, the socket under it (the upgrade request's): one buffer
 * for a tick's messages, each payload's bytes copied, not encoded again. Safe
 * beside `ws`'s own sends: without per-message compression (the server's
 * default) `ws` writes each message whole at once, so frames never interleave.
 */
export function webSocketSink(socket: WebSocket, tcp: Socket): PushSink {
  return {
    write(messages) {
      let total = 0;
      const ids: Buffer[] = [];
      for (const [id, payload] of messages) {
        const idBytes = Buffer.from(JSON.stringify(id));
        ids.push(idBytes);
        const length = opening.length + idBytes.length + next.length + payload.length + closing.length;
        total += headerLength(length) + length;
      }
      const out = Buffer.allocUnsafe(total);
      let at = 0;
      for (const [i, [, payload]] of messages.entries()) {
        const idBytes = ids[i] as Buffer;
        const length = opening.length + idBytes.length + next.length + payload.length + closing.length;
        at = writeHeader(out, at, length);
        at += opening.copy(out, at);
        at += idBytes.copy(out, at);
        at += next.copy(out, at);
        at += payload.copy(out, at);
        at += closing.copy(out, at);
      }
      tcp.write(out);
    },
    get unsent() {
      return tcp.writableLength;
    },
    onDrain: (fn) => tcp.once('drain', fn),
    get closed() {
      return socket.readyState !== socket.OPEN || tcp.destroyed;
    },
  };
}

/** A server's frame header (RFC 6455 5.2): FIN and text, no mask, the 7-, 16- or 64-bit length. */
function headerLength(length: number): number {
  return length < 126 ? 2 : length < 65536 ? 4 : 10;
}

function writeHeader(out: Buffer, at: number, length: number): number {
  out[at] = 0x81;
  if (length < 126) {
    out[at + 1] = length;
    return at + 2;
  }
  if (length < 65536) {
    out[at + 1] = 126;
    out.writeUInt16BE(length, at + 2);
    return at + 4;
  }
  out[at + 1] = 127;
  out.writeBigUInt64BE(BigInt(length), at + 2);
  return at + 10;
}
