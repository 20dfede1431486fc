import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type ExecutionArgs, GraphQLError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { Authenticator } from './auth/Authenticator.js';
import { Authorizer } from './auth/Authorizer.js';
import type { Caller } from './auth/Caller.js';
import { browserGuards, isEventStream, type Refusal } from './browserGuards.js';
import type { SubscriptionLimits } from './context.js';
import type { KubeClient } from './kube/KubeClient.js';
import type { ResourceCache } from './kube/ResourceCache.js';
import type { ReadMode } from './loaders.js';
import { GatewayMetrics } from './metrics.js';
import { schema } from './schema/index.js';
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
  /** Shared with the KubeClient (its `onResponse`); one is made when absent. */
  metrics?: GatewayMetrics;
  /** How long an access review's answer is reused (default 10 s). */
  accessReviewTtlMs?: number;
}

export interface WebSocketLimits {
  /** Largest message a client may send; a larger one closes the socket with 1009. */
  maxMessageBytes: number;
  /** Open sockets; past it a new one is closed with 1013 (try again later). */
  maxConnections: number;
  /** Open sockets from one client address; past it, 1013 too. */
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
  start(port: number, host: string): Promise<{ port: number }>;
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
  const authenticator = new Authenticator({ client: options.kube, logger });
  const authorizer = new Authorizer({ client: options.kube, logger, ttlMs: options.accessReviewTtlMs });
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
    http: options.http,
    writeAs: options.writeAs,
    metrics: options.metrics ?? new GatewayMetrics(cache),
  };
  const maxBodyBytes = options.http?.maxBodyBytes ?? defaultHttpPolicy.maxBodyBytes;
  const serveMetrics = (res: ServerResponse) => serveMetricsFrom(deps.metrics, res);
  const yoga = createGateway(deps);
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
    const refusal = guards.host(req) ?? (isEventStream(req) ? guards.origin(req) : undefined);
    if (refusal) return refuse(res, refusal);
    if (path === '/metrics') return void serveMetrics(res);
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
    return yoga.handle(req, res);
  };
  const server: Server = createServer(handle);
  const limits = { ...defaultWebSocketLimits, ...options.websocket };
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
  const perClient = new Map<string, number>();
  wss.on('connection', (socket, req) => {
    const client = req.socket.remoteAddress ?? '';
    const n = (perClient.get(client) ?? 0) + 1;
    perClient.set(client, n);
    socket.once('close', () => {
      const left = (perClient.get(client) ?? 1) - 1;
      if (left > 0) perClient.set(client, left);
      else perClient.delete(client);
    });
    if (wss.clients.size > limits.maxConnections || n > limits.maxConnectionsPerClient) {
      socket.close(1013, 'Too many connections; try again later');
    }
  });
  const wsServer = useServer<Record<string, unknown> | undefined, { caller?: Caller; operations?: Set<string> }>(
    {
      connectionInitWaitTimeout: limits.connectionInitTimeoutMs,
      // The token rides in connection_init's payload: `{ "authorization": "Bearer <token>" }`.
      onConnect: async (ctx) => {
        const header = ctx.connectionParams?.authorization;
        try {
          ctx.extra.caller = await authenticate(deps, typeof header === 'string' ? header : undefined);
          return true;
        } catch {
          ctx.extra.socket.close(4401, 'Unauthorized');
          return false;
        }
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
          params: payload,
        });
        const document = parse(payload.query);
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
      started = true;
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : port;
      logger.info({ url: `http://${host}:${bound}/graphql` }, 'gateway listening');
      return { port: bound };
    },
    async stop() {
      if (stopping) return;
      stopping = true;
      logger.info('shutting down: readiness off, finishing in-flight requests');
      // Sockets first, so subscribers reconnect elsewhere (1001: going away).
      for (const client of wss.clients) client.close(1001, 'Server shutting down');
      await wsServer.dispose();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const grace = setTimeout(() => server.closeAllConnections(), options.shutdownGraceMs ?? 10_000);
      await closed;
      clearTimeout(grace);
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await cache.stop();
      logger.info('stopped');
    },
  };
}

/** Answers before reading the body, and closes the connection so the unread body goes with it. */
function refuse(res: ServerResponse, { status, code, message }: Refusal): void {
  res.writeHead(status, { 'Content-Type': 'application/json', Connection: 'close' });
  res.end(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
}

async function serveMetricsFrom(metrics: GatewayMetrics, res: ServerResponse): Promise<void> {
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
