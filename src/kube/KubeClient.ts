import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type { KubeConfig } from '@kubernetes/client-node';
import { HttpMethod, RequestContext } from '@kubernetes/client-node';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { Agent, type Dispatcher, fetch, request } from 'undici';
import { KubeApiError } from './KubeApiError.js';
import { describeRequest, type KubeObject } from './kinds.js';

export interface KubeClientOptions {
  kubeConfig: KubeConfig;
  logger: Logger;
  /** Per-request timeout for everything but watches. */
  requestTimeoutMs?: number;
  /** Told of every call's outcome (for metrics). */
  onResponse?: (method: string, path: string, status: number | 'error') => void;
}

/** How a client derived from the gateway's acts: with a caller's own token, or as the gateway impersonating them. */
type Identity =
  | { kind: 'token'; token: string; dispatcher: Dispatcher }
  | { kind: 'impersonate'; base: KubeClient; headers: [string, string][] };

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  /** e.g. `application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1`, to read metadata only (a Secret's, say). */
  accept?: string;
  signal?: AbortSignal;
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeObject;
}

export interface KubeList {
  metadata: { resourceVersion?: string; continue?: string };
  items: KubeObject[];
}

const tracer = trace.getTracer('tekton-resource-gateway');

/**
 * JSON over HTTP to the Kubernetes API, authenticated from a kubeconfig.
 *
 * It streams watches itself instead of using client-node's `Watch`, which aborts
 * a quiet watch after 30 s and silently drops lines it cannot parse
 * (docs/decisions/002-own-watch-stream.md). One connection pool serves every call.
 */
export class KubeClient {
  readonly server: string;
  private readonly kubeConfig: KubeConfig;
  private readonly logger: Logger;
  private readonly requestTimeoutMs: number;
  private readonly onResponse: KubeClientOptions['onResponse'];
  private dispatcher: Dispatcher | undefined;
  private headers: Record<string, string> | undefined;
  private headersAt = 0;
  private readonly identity: Identity | undefined;
  private callerDispatcher: Dispatcher | undefined;

  constructor(options: KubeClientOptions, identity?: Identity) {
    this.identity = identity;
    this.kubeConfig = options.kubeConfig;
    this.logger = options.logger;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.onResponse = options.onResponse;
    const cluster = this.kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.server = cluster.server.replace(/\/$/, '');
  }

  /**
   * The same API, as the caller whose bearer token this is. Its connections
   * carry only the cluster's CA, never the gateway's client certificate, so
   * Kubernetes sees the caller alone.
   */
  forCaller(token: string): KubeClient {
    this.callerDispatcher ??= callerDispatcher(this.kubeConfig);
    return new KubeClient(
      { kubeConfig: this.kubeConfig, logger: this.logger, requestTimeoutMs: this.requestTimeoutMs, onResponse: this.onResponse },
      { kind: 'token', token, dispatcher: this.callerDispatcher },
    );
  }

  /**
   * The same API, as the gateway impersonating a user, whole: `Impersonate-User`,
   * one `Impersonate-Group` header per group, `Impersonate-Uid`, and one
   * `Impersonate-Extra-<key>` header per value of each extra (a scoped token's
   * limits go with it). The gateway's identity then needs the `impersonate`
   * verb on users, groups, uids and userextras (deploy/ says how).
   */
  impersonating(user: { username: string; uid?: string; groups: string[]; extra?: Record<string, string[]> }): KubeClient {
    const headers: [string, string][] = [['Impersonate-User', user.username]];
    for (const g of user.groups) headers.push(['Impersonate-Group', g]);
    if (user.uid) headers.push(['Impersonate-Uid', user.uid]);
    for (const [key, values] of Object.entries(user.extra ?? {})) {
      for (const v of values) headers.push([`Impersonate-Extra-${extraHeaderKey(key)}`, v]);
    }
    return new KubeClient(
      { kubeConfig: this.kubeConfig, logger: this.logger, requestTimeoutMs: this.requestTimeoutMs, onResponse: this.onResponse },
      { kind: 'impersonate', base: this, headers },
    );
  }

  /** Auth headers from the kubeconfig, refreshed every 30 s so rotated tokens are picked up. */
  private async auth(): Promise<{ headers: [string, string][]; dispatcher: Dispatcher | undefined }> {
    if (this.identity?.kind === 'token') {
      return { headers: [['Authorization', `Bearer ${this.identity.token}`]], dispatcher: this.identity.dispatcher };
    }
    if (this.identity?.kind === 'impersonate') {
      const base = await this.identity.base.auth();
      return { headers: [...base.headers, ...this.identity.headers], dispatcher: base.dispatcher };
    }
    if (!this.headers || Date.now() - this.headersAt > 30_000) {
      const ctx = new RequestContext(this.server, HttpMethod.GET);
      await this.kubeConfig.applySecurityAuthentication(ctx);
      this.headers = ctx.getHeaders();
      this.headersAt = Date.now();
      // The dispatcher holds the TLS settings and the connection pool: keep the first.
      this.dispatcher ??= ctx.getDispatcher() as Dispatcher | undefined;
    }
    return { headers: Object.entries(this.headers), dispatcher: this.dispatcher };
  }

  private url(path: string, query?: RequestOptions['query']): string {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    return url.toString();
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const { verb, resource } = describeRequest(method, path);
    return tracer.startActiveSpan(`k8s ${verb} ${resource}`, { kind: SpanKind.CLIENT }, async (span) => {
      try {
        return await this.send<T>(method, path, options);
      } catch (err) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
        throw err;
      } finally {
        span.end();
      }
    });
  }

  private async send<T>(method: string, path: string, options: RequestOptions): Promise<T> {
    const { headers, dispatcher } = await this.auth();
    const signal = options.signal
      ? AbortSignal.any([options.signal, AbortSignal.timeout(this.requestTimeoutMs)])
      : AbortSignal.timeout(this.requestTimeoutMs);
    // A repeated header (one Impersonate-Group per group) must reach the apiserver as separate lines, or it reads
    // "a, b" as one group of that name. `fetch` joins them, and so does undici over HTTP/2; `request` over
    // HTTP/1.1 (undici's Agent honours a per-request `allowH2`) does not.
    const all: [string, string][] = [...headers, ['Accept', options.accept ?? 'application/json']];
    if (options.body !== undefined) all.push(['Content-Type', options.contentType ?? 'application/json']);
    const lines: Record<string, string[]> = {};
    for (const [name, value] of all) {
      lines[name] = [...(lines[name] ?? []), value];
    }
    const repeated = Object.values(lines).some((values) => values.length > 1);
    const res = await request(this.url(path, options.query), {
      method: method as Dispatcher.HttpMethod,
      headers: lines,
      body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
      dispatcher,
      signal,
      // Not in undici's types, read by Agent#dispatch (undici 8).
      ...(repeated ? ({ allowH2: false } as object) : {}),
    }).catch((err: unknown) => {
      this.onResponse?.(method, path, 'error');
      throw err;
    });
    this.onResponse?.(method, path, res.statusCode);
    if (res.statusCode < 200 || res.statusCode > 299) {
      throw await KubeApiError.fromResponse(method, path, { status: res.statusCode, text: () => res.body.text() });
    }
    return (await res.body.json()) as T;
  }

  /**
   * Streams one watch until the server ends it, the signal aborts, or the
   * connection fails (thrown). A line that is not JSON ends the watch with an
   * error, never dropped in silence.
   */
  async *watch(path: string, query: RequestOptions['query'], signal: AbortSignal): AsyncGenerator<WatchEvent> {
    const { headers, dispatcher } = await this.auth();
    const res = await fetch(this.url(path, { ...query, watch: true }), {
      method: 'GET',
      headers: [...headers, ['Accept', 'application/json']],
      dispatcher,
      signal,
    });
    this.onResponse?.('WATCH', path, res.status);
    if (!res.ok || !res.body) throw await KubeApiError.fromResponse('WATCH', path, res);
    const lines = createInterface({ input: Readable.fromWeb(res.body), crlfDelay: Number.POSITIVE_INFINITY });
    try {
      for await (const line of lines) {
        if (line.trim() === '') continue;
        let event: WatchEvent;
        try {
          event = JSON.parse(line) as WatchEvent;
        } catch {
          // Ending the watch makes the caller resume from its last resourceVersion,
          // so the event on this line is delivered again rather than lost.
          this.logger.warn({ path, bytes: line.length }, 'unparseable watch line; restarting the watch');
          throw new Error(`unparseable watch line on ${path}`);
        }
        yield event;
      }
    } finally {
      lines.close();
    }
  }
}

/**
 * An extra's key as a header name, percent-encoded as Kubernetes expects
 * (client-go's `headerKeyEscape`): every byte that is not an HTTP token
 * character, and `%` itself, becomes `%XX`; the apiserver decodes it.
 */
export function extraHeaderKey(key: string): string {
  let out = '';
  for (const byte of Buffer.from(key, 'utf8')) {
    const c = String.fromCharCode(byte);
    out +=
      byte < 0x80 && c !== '%' && /[!#$&'*+\-.^_`|~0-9A-Za-z]/.test(c)
        ? c
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function callerDispatcher(kc: KubeConfig): Dispatcher {
  const cluster = kc.getCurrentCluster();
  const ca = cluster?.caData ? Buffer.from(cluster.caData, 'base64') : cluster?.caFile ? readFileSync(cluster.caFile) : undefined;
  return new Agent({
    connect: {
      ...(ca ? { ca } : {}),
      ...(cluster?.skipTLSVerify ? { rejectUnauthorized: false } : {}),
      ...(cluster?.tlsServerName ? { servername: cluster.tlsServerName } : {}),
    },
  });
}
