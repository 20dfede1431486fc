// Over 400 lines on purpose: the HTTP server, the WebSocket server and the streaming responses share one set of
// connection counts (per process and per client address) and one shutdown order; apart, they would pass both around.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { type ExecutionArgs, GraphQLError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { Logger } from 'pino';
import { type WebSocket, WebSocketServer } from 'ws';
import { Authenticator, type TokenCacheLimits } from './auth/Authenticator.js';
import type { AuthFailureLimit } from './auth/AuthFailureLimiter.js';
import { Authorizer, type ReviewCacheLimits } from './auth/Authorizer.js';
import type { Caller } from './auth/Caller.js';
import { reviewSession } from './auth/sessions.js';
import { browserGuards, isEventStream, isGraphiQLPage, type Refusal } from './browserGuards.js';
import type { KubeClient } from './kube/KubeClient.js';
import type { ResourceCache } from './kube/ResourceCache.js';
import type { ReadMode } from './loaders.js';
import type { GatewayMetrics } from './metrics.js';
import { type PersistedDocuments, persistedDocumentErrors, persistedDocumentId } from './persistedDocuments.js';
import { rateLimitedMessage } from './plugins/useRateLimit.js';
import { schema } from './schema/index.js';
import { SseReservations } from './sseReservations.js';
import { PushOutlet } from './subscriptions/FanOut.js';
import { defaultSubscriptionLimits, type SubscriptionLimits } from './subscriptions/limits.js';
import { webSocketSink } from './subscriptions/sinks.js';
import { authenticate, createGateway, defaultHttpPolicy, type HttpPolicy } from './yoga.js';

export interface AppOptions {
  logger: Logger;
  kube: KubeClient;
  cache: ResourceCache;
  /**
   * `token`: every caller authenticates and acts as themselves; `anonymous` (local use only): callers
   * without a token act with the gateway's rights, callers with one as themselves.
   */
  auth: 'token' | 'anonymous';
  /** Local mode: answer only a loopback `Host` on the served port (DNS rebinding); others get 421. */
  loopbackHostsOnly?: boolean;
  /** `naive` turns the cache and batching off for reads (benchmarks only). */
  readMode?: ReadMode;
  /** How long in-flight requests may finish after stop() begins. */
  shutdownGraceMs?: number;
  websocket?: Partial<WebSocketLimits>;
  subscriptions?: Partial<SubscriptionLimits>;
  http?: Partial<HttpPolicy>;
  writeAs?: 'token' | 'impersonate';
  /** Shared with the KubeClient (its `onResponse`) and the cache (src/gateway.ts binds all three). */
  metrics: GatewayMetrics;
  /** The access-review cache's bounds (src/auth/Authorizer.ts). */
  reviewCache?: Partial<ReviewCacheLimits>;
  /** The token cache's bounds (src/auth/Authenticator.ts). */
  tokenCache?: Partial<TokenCacheLimits>;
  /** Failed tokens per client address before further unknown ones get 429 without a TokenReview. */
  authFailures?: Partial<AuthFailureLimit>;
  /** Distinct access reviews one operation may cause. */
  maxAccessReviews?: number;
  /** Who may read /metrics; by default nobody (the main port answers 404). */
  metricsAccess?: Partial<MetricsAccess>;
  /** An SSE (or multipart) response that cannot write for this long is ended (default 30 s). */
  sseWriteTimeoutMs?: number;
}

/** Where /metrics is served, and to whom. */
export interface MetricsAccess {
  /** A second port that serves only /metrics, on the same host; none when undefined. */
  port: number | undefined;
  /** Bearer token a scraper must send; without it the main port answers 404. */
  token: string | undefined;
}

export interface WebSocketLimits {
  /** Largest message a client may send; a larger one closes the socket with 1009. */
  maxMessageBytes: number;
  /**
   * Open sockets and streaming HTTP responses (SSE, multipart) together; past
   * it a new socket is closed with 1013 (try again later), a new stream gets
   * HTTP 503 TOO_MANY_CONNECTIONS.
   */
  maxConnections: number;
  /** The same, from one client address; past it 1013, or HTTP 429 TOO_MANY_CONNECTIONS. */
  maxConnectionsPerClient: number;
  /** Subscriptions on one socket; past it a new one gets an error. */
  maxSubscriptionsPerConnection: number;
  /** A socket that sends no `connection_init` within this is closed with 4408. */
  connectionInitTimeoutMs: number;
  /** Server pings, so dead peers and idle proxies are noticed. */
  keepAliveMs: number;
}

export const defaultWebSocketLimits: WebSocketLimits = {
  maxMessageBytes: 64 * 1024,
  maxConnections: 10_000,
  maxConnectionsPerClient: 1_000,
  maxSubscriptionsPerConnection: 100,
  connectionInitTimeoutMs: 10_000,
  keepAliveMs: 12_000,
};

export interface App {
  /** Listens on `port` (and the metrics port, when configured) at `host`; answers the ports bound. */
  start(port: number, host: string): Promise<{ port: number; metricsPort: number | undefined }>;
  stop(): Promise<void>;
  readonly ready: boolean;
}

type EnvelopedArgs = ExecutionArgs & {
  rootValue: { execute: (args: ExecutionArgs) => unknown; subscribe: (args: ExecutionArgs) => unknown };
};

/** The HTTP server, the WebSocket server and yoga on one port and path (`/graphql`). */
export function createApp(options: AppOptions): App {
  const { logger, cache } = options;
  // Anonymous mode authenticates too: a caller who sends a token acts as that user.
  const authenticator = new Authenticator({
    client: options.kube,
    logger,
    cache: options.tokenCache,
    failures: options.authFailures,
  });
  const authorizer = new Authorizer({ client: options.kube, logger, cache: options.reviewCache });
  const subscriptionLimits = { ...defaultSubscriptionLimits, ...options.subscriptions };
  const deps = {
    schema,
    logger,
    cache,
    kube: options.kube,
    authenticator,
    anonymous: options.auth === 'anonymous',
    authorizer,
    readMode: options.readMode,
    subscriptions: options.subscriptions,
    maxAccessReviews: options.maxAccessReviews,
    http: options.http,
    writeAs: options.writeAs,
    metrics: options.metrics,
  };
  const maxBodyBytes = options.http?.maxBodyBytes ?? defaultHttpPolicy.maxBodyBytes;
  const trustedDocuments = options.http?.persistedDocuments;
  const metricsToken = options.metricsAccess?.token;
  const { yoga, arrive } = createGateway(deps);
  const guards = browserGuards({
    corsOrigins: options.http?.corsOrigins ?? defaultHttpPolicy.corsOrigins,
    loopbackHostsOnly: options.loopbackHostsOnly ?? false,
  });
  let started = false;
  let stopping = false;
  const isReady = () => started && !stopping && cache.ready;

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const stop = deps.metrics.httpDuration.startTimer({ method: req.method ?? 'GET' });
    // Known paths only as labels: anything else is one label, so a scanner cannot blow up the series.
    res.once('finish', () =>
      stop({ path: ['/graphql', '/healthz', '/readyz', '/metrics'].includes(path) ? path : 'other', status: res.statusCode }),
    );
    const wrongHost = guards.host(req);
    if (wrongHost) return refuse(res, wrongHost);
    if (path === yoga.graphqlEndpoint && req.method !== 'OPTIONS' && !isGraphiQLPage(req)) {
      // Who calls is settled first: a missing or bad token hears 401, never about CSRF, Origin or the body
      // (a router that forgot to forward the token must be told so). The caller rides on to yoga's context.
      return void authenticate(deps, req.headers.authorization, req.socket.remoteAddress ?? '').then(
        (caller) => serve(req, res, path, caller),
        (err: unknown) => {
          if (err instanceof GraphQLError && typeof err.extensions.code === 'string') {
            const http = err.extensions.http as { status: number; headers?: Record<string, string> };
            return refuse(res, { status: http.status, code: err.extensions.code, message: err.message }, http.headers);
          }
          logger.error({ err }, 'authentication failed');
          refuse(res, { status: 500, code: 'INTERNAL_SERVER_ERROR', message: 'Unexpected error.' });
        },
      );
    }
    serve(req, res, path, undefined);
  };
  const serve = (req: IncomingMessage, res: ServerResponse, path: string, caller: Caller | undefined) => {
    const refusal = isEventStream(req) ? guards.origin(req) : undefined;
    if (refusal) return refuse(res, refusal);
    if (path === '/metrics') {
      // Without a token, metrics are only on the metrics port (if any): this port does not have them.
      if (metricsToken === undefined) return refuse(res, { status: 404, code: 'NOT_FOUND', message: 'Not found' });
      return void serveMetrics(deps.metrics, metricsToken, req, res);
    }
    if (path === '/healthz') return probe(res, 200, 'ok');
    if (path === '/readyz')
      return isReady() ? probe(res, 200, 'ok') : probe(res, 503, stopping ? 'shutting down' : 'cache not synced');
    if (stopping) res.setHeader('Connection', 'close');
    if (req.method === 'POST') {
      const length = Number(req.headers['content-length']);
      if (req.headers['transfer-encoding'] || !Number.isFinite(length))
        return refuse(res, { status: 411, code: 'LENGTH_REQUIRED', message: 'Length Required' });
      if (length > maxBodyBytes)
        return refuse(res, { status: 413, code: 'REQUEST_TOO_LARGE', message: `Request body over ${maxBodyBytes} bytes` });
    }
    if (path === yoga.graphqlEndpoint && isEventStream(req)) {
      const client = req.socket.remoteAddress ?? '';
      if (wss.clients.size + streams.size >= limits.maxConnections)
        return refuse(res, { status: 503, code: 'TOO_MANY_CONNECTIONS', message: 'Too many connections; try again later' });
      if ((perClient.get(client) ?? 0) >= limits.maxConnectionsPerClient)
        return refuse(res, {
          status: 429,
          code: 'TOO_MANY_CONNECTIONS',
          message: 'Too many connections from this address; try again later',
        });
      const release = admit(client);
      streams.set(res, undefined);
      res.once('close', () => {
        streams.delete(res);
        release();
      });
    }
    // graphql-sse's single connection mode (a reservation and its token): streams carrying many operations.
    if (path === yoga.graphqlEndpoint && SseReservations.handles(req))
      return void reservations.handle(req, res).catch((err: unknown) => {
        logger.error({ err }, 'graphql-sse request failed');
        if (!res.headersSent) refuse(res, { status: 500, code: 'INTERNAL_SERVER_ERROR', message: 'Unexpected error.' });
        else res.destroy();
      });
    if (!caller) return yoga.handle(req, res, {});
    // The caller's operation is spent on arrival: past the rate, refused here, before yoga reads the request.
    const taken = arrive(caller.username);
    if (taken !== true) return refuseRateLimited(res, taken);
    return yoga.handle(req, res, { caller, operationSpent: true });
  };
  const server: Server = createServer(handle);
  const limits = { ...defaultWebSocketLimits, ...options.websocket };
  const reservations = new SseReservations({
    yoga,
    authenticate: (req) => authenticate(deps, req.headers.authorization, req.socket.remoteAddress ?? ''),
    logger,
    // A reservation is a stream to be: it counts as one against the process's streams once opened.
    limits: { maxReservations: limits.maxConnections, openWithinMs: 30_000, maxOperations: limits.maxSubscriptionsPerConnection },
  });
  const wss = new WebSocketServer({
    server,
    path: yoga.graphqlEndpoint,
    maxPayload: limits.maxMessageBytes,
    // The upgrade is answered with the refusal's status and its message as the body.
    verifyClient: ({ req }, done) => {
      const refusal = guards.host(req) ?? guards.origin(req);
      if (refusal) done(false, refusal.status, refusal.message);
      else done(true);
    },
  });
  /** Open sockets and streams per client address. */
  const perClient = new Map<string, number>();
  const admit = (client: string) => {
    perClient.set(client, (perClient.get(client) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (perClient.get(client) ?? 1) - 1;
      if (left > 0) perClient.set(client, left);
      else perClient.delete(client);
    };
  };
  /** Open streaming responses, and since when each has been unable to write (undefined while it writes). */
  const streams = new Map<ServerResponse, number | undefined>();
  const sseWriteTimeoutMs = options.sseWriteTimeoutMs ?? 30_000;
  // yoga writes a stream only after the previous write drained (it waits for 'drain'), so a
  // reader that stops holds one write here and its events in its SubscriberQueue; past the
  // timeout the connection is destroyed, which ends the subscription.
  const sweepStalledStreams = () => {
    const now = Date.now();
    for (const [res, since] of streams) {
      if (!res.writableNeedDrain) streams.set(res, undefined);
      else if (since === undefined) streams.set(res, now);
      else if (now - since >= sseWriteTimeoutMs) {
        logger.info({ stalledMs: now - since }, 'stream not read; closing it');
        res.destroy();
      }
    }
  };
  let sweeper: NodeJS.Timeout | undefined;
  /** One outlet per socket: its subscriptions' events of a tick go out in one write. */
  const outlets = new WeakMap<WebSocket, PushOutlet>();
  const socketOutlet = (socket: WebSocket, tcp: Socket) => {
    let outlet = outlets.get(socket);
    if (!outlet) {
      outlet = new PushOutlet(webSocketSink(socket, tcp));
      outlets.set(socket, outlet);
    }
    return outlet;
  };
  wss.on('connection', (socket, req) => {
    const client = req.socket.remoteAddress ?? '';
    const over =
      wss.clients.size + streams.size > limits.maxConnections || (perClient.get(client) ?? 0) >= limits.maxConnectionsPerClient;
    socket.once('close', admit(client));
    if (over) socket.close(1013, 'Too many connections; try again later');
  });
  const metricsServer =
    options.metricsAccess?.port === undefined
      ? undefined
      : createServer((req, res) => {
          if ((req.url ?? '/').split('?')[0] !== '/metrics')
            return refuse(res, { status: 404, code: 'NOT_FOUND', message: 'Not found' });
          return void serveMetrics(deps.metrics, metricsToken, req, res);
        });
  const wsServer = useServer<Record<string, unknown> | undefined, { caller?: Caller; operations?: Set<string> }>(
    {
      connectionInitWaitTimeout: limits.connectionInitTimeoutMs,
      // The token rides in connection_init's payload: `{ "authorization": "Bearer <token>" }`.
      onConnect: async (ctx) => {
        const header = ctx.connectionParams?.authorization;
        const { socket, request } = ctx.extra;
        let caller: Caller;
        try {
          caller = await authenticate(deps, typeof header === 'string' ? header : undefined, request.socket.remoteAddress ?? '');
        } catch (err) {
          const limited = err instanceof GraphQLError && err.extensions.code === 'RATE_LIMITED';
          socket.close(limited ? 4429 : 4401, limited ? 'Too many invalid tokens' : 'Unauthorized');
          return false;
        }
        ctx.extra.caller = caller;
        // The session lasts only as long as its token reviews (docs/security.md, "Sessions").
        if (authenticator) {
          const stop = reviewSession({
            authenticator,
            caller,
            intervalMs: subscriptionLimits.accessRecheckMs,
            logger,
            onRevoked: () => socket.close(4401, 'Unauthorized: the token no longer authenticates'),
          });
          socket.once('close', stop);
        }
        return true;
      },
      execute: (args) => (args as EnvelopedArgs).rootValue.execute(args) as never,
      subscribe: (args) => (args as EnvelopedArgs).rootValue.subscribe(args) as never,
      onSubscribe: async (ctx, id, payload) => {
        ctx.extra.operations ??= new Set();
        if (ctx.extra.operations.size >= limits.maxSubscriptionsPerConnection) {
          return [
            new GraphQLError(`At most ${limits.maxSubscriptionsPerConnection} subscriptions per connection.`, {
              extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' },
            }),
          ];
        }
        const {
          schema: s,
          execute,
          subscribe,
          contextFactory,
          parse,
          validate,
        } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          caller: ctx.extra.caller,
          // A subscription whose access is revoked closes its socket with 4403 (docs/security.md).
          closeConnection: (code: number, reason: string) => ctx.extra.socket.close(code, reason),
          // The fan-out writes a subscription's events to the socket itself, framed with this id.
          outlet: { to: socketOutlet(ctx.extra.socket, ctx.extra.request.socket), id },
          params: payload,
        });
        const query = trustedDocuments ? trustedQuery(trustedDocuments, payload) : payload.query;
        if (query instanceof GraphQLError) return [query];
        const document = parse(query);
        const errors = validate(s, document);
        if (errors.length) return errors;
        ctx.extra.operations.add(id);
        return {
          schema: s,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        } satisfies EnvelopedArgs;
      },
      onComplete: (ctx, id) => {
        ctx.extra.operations?.delete(id);
      },
      onError: (ctx, id) => {
        ctx.extra.operations?.delete(id);
      },
    },
    wss,
    limits.keepAliveMs,
  );

  return {
    get ready() {
      return isReady();
    },
    async start(port, host) {
      cache.start();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve());
      });
      const metricsPort = options.metricsAccess?.port;
      if (metricsServer && metricsPort !== undefined) {
        await new Promise<void>((resolve, reject) => {
          metricsServer.once('error', reject);
          metricsServer.listen(metricsPort, host, () => resolve());
        });
        logger.info({ url: `http://${host}:${portOf(metricsServer, metricsPort)}/metrics` }, 'metrics listening');
      }
      sweeper = setInterval(sweepStalledStreams, Math.min(1_000, Math.ceil(sseWriteTimeoutMs / 4)));
      sweeper.unref();
      started = true;
      const bound = portOf(server, port);
      logger.info({ url: `http://${host}:${bound}/graphql` }, 'gateway listening');
      return { port: bound, metricsPort: metricsServer ? portOf(metricsServer, metricsPort ?? 0) : undefined };
    },
    async stop() {
      if (stopping) return;
      stopping = true;
      logger.info('shutting down: readiness off, finishing in-flight requests');
      // Sockets first, so subscribers reconnect elsewhere (1001: going away).
      for (const client of wss.clients) client.close(1001, 'Server shutting down');
      reservations.close();
      await wsServer.dispose();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const grace = setTimeout(() => server.closeAllConnections(), options.shutdownGraceMs ?? 10_000);
      await closed;
      clearTimeout(grace);
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      clearInterval(sweeper);
      if (metricsServer?.listening) {
        metricsServer.closeAllConnections();
        await new Promise<void>((resolve) => metricsServer.close(() => resolve()));
      }
      await cache.stop();
      logger.info('stopped');
    },
  };
}

/**
 * A WebSocket subscription's document in trusted-documents mode: graphql-ws requires a `query` string, so a client
 * sends `""` and names the document by `documentId` (or `extensions.persistedQuery.sha256Hash`).
 */
function trustedQuery(
  documents: PersistedDocuments,
  payload: { query: string; extensions?: unknown; documentId?: unknown },
): string | GraphQLError {
  const id = persistedDocumentId(payload);
  const refusal = payload.query
    ? persistedDocumentErrors.arbitrary()
    : id === null
      ? persistedDocumentErrors.missingId()
      : documents.has(id)
        ? undefined
        : persistedDocumentErrors.unknown();
  // Without the HTTP status, which means nothing on a socket.
  return refusal
    ? new GraphQLError(refusal.message, { extensions: { code: refusal.extensions.code } })
    : (documents.get(id as string) as string);
}

/** Answers before reading the body, and closes the connection so the unread body goes with it. */
function refuse(res: ServerResponse, { status, code, message }: Refusal, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'Content-Type': 'application/json',
    Connection: 'close',
    ...(status === 429 || status === 503 ? { 'Retry-After': '5' } : {}),
    ...headers,
  });
  res.end(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
}

/** 429 for a caller past their operation rate; the connection stays open (a refusal costs as little as it can). */
function refuseRateLimited(res: ServerResponse, retryAfterSeconds: number): void {
  res.writeHead(429, { 'Content-Type': 'application/json; charset=utf-8', 'Retry-After': String(retryAfterSeconds) });
  res.end(JSON.stringify({ errors: [{ message: rateLimitedMessage, extensions: { code: 'RATE_LIMITED', retryAfterSeconds } }] }));
}

function portOf(server: Server, fallback: number): number {
  const address = server.address();
  return typeof address === 'object' && address ? address.port : fallback;
}

/** Constant-time comparison of a presented bearer token with the configured one. */
function tokenMatches(header: string | undefined, token: string): boolean {
  const presented = /^Bearer (.+)$/i.exec(header ?? '')?.[1] ?? '';
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(presented), digest(token));
}

/** /metrics, to a caller with the token when one is configured (401 otherwise). */
async function serveMetrics(
  metrics: GatewayMetrics,
  token: string | undefined,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (token !== undefined && !tokenMatches(req.headers.authorization, token)) {
    return refuse(
      res,
      { status: 401, code: 'UNAUTHENTICATED', message: 'Unauthorized: send the metrics bearer token.' },
      { 'WWW-Authenticate': 'Bearer' },
    );
  }
  try {
    const body = await metrics.registry.metrics();
    res.writeHead(200, { 'Content-Type': metrics.registry.contentType });
    res.end(body);
  } catch {
    res.writeHead(500);
    res.end();
  }
}

function probe(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(body);
}
