import type { IncomingMessage } from 'node:http';
import { isLoopback } from './config.js';

/** An HTTP refusal: the status, the stable code and what the caller is told (docs/security.md). */
export interface Refusal {
  status: number;
  code: string;
  message: string;
}

export interface BrowserGuardOptions {
  /** Origins allowed besides the gateway's own (`--cors-origins`). */
  corsOrigins: readonly string[];
  /** Local mode: only loopback names in `Host`, with the port the request came in on (DNS rebinding). */
  loopbackHostsOnly: boolean;
}

/**
 * Refuses what a web page the user happens to open could do to the gateway:
 * in local mode a `Host` that is not this machine (a DNS-rebinding page, whose
 * name resolves to 127.0.0.1), and a WebSocket upgrade or an SSE request from
 * another origin (neither is protected by CORS). Requests without `Origin`
 * (curl, servers) are not from a browser page and pass.
 */
export function browserGuards(options: BrowserGuardOptions) {
  const allowed = new Set(options.corsOrigins.map((o) => new URL(o).origin));
  return {
    /** A `Host` outside loopback names, or for another port, in local mode: 421. */
    host(req: IncomingMessage): Refusal | undefined {
      if (!options.loopbackHostsOnly) return undefined;
      const host = hostAndPort(req.headers.host);
      if (host && isLoopback(host.name) && host.port === req.socket.localPort) return undefined;
      return {
        status: 421,
        code: 'HOST_NOT_ALLOWED',
        message: 'Local mode answers only requests for a loopback address (127.0.0.1, [::1], localhost) on its own port.',
      };
    },
    /** A streaming request (WebSocket upgrade, `Accept: text/event-stream`) from a foreign origin: 403. */
    origin(req: IncomingMessage): Refusal | undefined {
      const origin = req.headers.origin;
      if (origin === undefined || sameOrigin(origin, req.headers.host) || allowed.has(origin)) return undefined;
      return {
        status: 403,
        code: 'ORIGIN_NOT_ALLOWED',
        message: 'Streams are served to the same origin and the origins in --cors-origins only.',
      };
    },
  };
}

/** Whether the request streams its answer: SSE or multipart; WebSocket upgrades are checked at the upgrade. */
export function isEventStream(req: IncomingMessage): boolean {
  const accept = req.headers.accept ?? '';
  return accept.includes('text/event-stream') || accept.includes('multipart/mixed');
}

/** A browser asking for GraphiQL (yoga serves the page for any GET that accepts HTML, and executes nothing). */
export function isGraphiQLPage(req: IncomingMessage): boolean {
  return req.method === 'GET' && (req.headers.accept ?? '').includes('text/html');
}

function sameOrigin(origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host === host.toLowerCase();
  } catch {
    return false; // `null` (sandboxed frames, file:) or garbage: no origin of ours
  }
}

/** `Host` as name and port (80 when absent, as a browser omits it then), or undefined when malformed. */
function hostAndPort(header: string | undefined): { name: string; port: number } | undefined {
  if (!header) return undefined;
  try {
    const url = new URL(`http://${header}`);
    if (url.username || url.password || url.pathname !== '/' || url.search) return undefined;
    return { name: url.hostname, port: url.port ? Number(url.port) : 80 };
  } catch {
    return undefined;
  }
}
