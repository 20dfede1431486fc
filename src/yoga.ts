import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { useDeferStream } from '@graphql-yoga/plugin-defer-stream';
import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { Logger } from 'pino';
import { AccessReviewBudget } from './auth/AccessReviewBudget.js';
import { type Authenticator, bearerToken, TooManyFailedTokens } from './auth/Authenticator.js';
import type { Authorizer } from './auth/Authorizer.js';
import { type Caller, localCaller } from './auth/Caller.js';
import type { Context } from './context.js';
import { graphiqlPage } from './graphiql.js';
import type { KubeClient } from './kube/KubeClient.js';
import type { ResourceCache } from './kube/ResourceCache.js';
import { ObjectLoaders, type ReadMode } from './loaders.js';
import type { GatewayMetrics } from './metrics.js';
import { type PersistedDocuments, persistedDocumentErrors, persistedDocumentId } from './persistedDocuments.js';
import { useCompiledExecution } from './plugins/useCompiledExecution.js';
import { budgetedExecute, type ExecutionBudget, requestSignal, useExecutionBudget } from './plugins/useExecutionBudget.js';
import { useIntrospectionSwitch } from './plugins/useIntrospectionSwitch.js';
import { useMetrics } from './plugins/useMetrics.js';
import { type QueryLimits, useQueryLimits } from './plugins/useQueryLimits.js';
import { type RateLimit, useRateLimit } from './plugins/useRateLimit.js';
import { useSessionReview } from './plugins/useSessionReview.js';
import { useSubscriptionFanOut } from './plugins/useSubscriptionFanOut.js';
import { useSubscriptionLimits } from './plugins/useSubscriptionLimits.js';
import { useTracing } from './plugins/useTracing.js';
import { defaultYamlLimits, type YamlLimits } from './resources/readYaml.js';
import { FanOut, type PushOutlet } from './subscriptions/FanOut.js';
import { defaultSubscriptionLimits, type SubscriptionLimits } from './subscriptions/limits.js';

export interface GatewayDeps {
  schema: GraphQLSchema;
  logger: Logger;
  cache: ResourceCache;
  /** The gateway's own client: the cache's reads and, in anonymous mode, every write. */
  kube: KubeClient;
  authorizer: Authorizer;
  /** Verifies bearer tokens, in anonymous mode too: a caller who sends one acts as themselves. */
  authenticator: Authenticator;
  /** Anonymous local mode: a request without an `Authorization` header acts with the gateway's own rights. */
  anonymous: boolean;
  readMode?: ReadMode;
  metrics: GatewayMetrics;
  /** How writes reach Kubernetes as the caller (token mode only). */
  writeAs?: 'token' | 'impersonate';
  subscriptions?: Partial<SubscriptionLimits>;
  http?: Partial<HttpPolicy>;
  /** Distinct access reviews one operation may cause (docs/security.md). */
  maxAccessReviews?: number;
}

export const defaultMaxAccessReviews = 100;

/** What the HTTP endpoint allows (docs/security.md). */
export interface HttpPolicy {
  /** Origins allowed to call from a browser (CORS); none means same-origin only. */
  corsOrigins: string[];
  /** Schema introspection and federation's `_service { sdl }` (GraphiQL and routers need them). */
  introspection: boolean;
  query: Partial<QueryLimits>;
  budget: Partial<ExecutionBudget>;
  rate: Partial<RateLimit>;
  /** YAML inputs: size, nesting, aliases, parse time. */
  yaml: Partial<YamlLimits>;
  /** Largest request body; a larger one gets 413 before it is read. */
  maxBodyBytes: number;
  /**
   * Queries and mutations run compiled (graphql-jit); subscriptions never (src/plugins/useCompiledExecution.ts).
   * Off by default: it changes some answers (docs/decisions/017-compiled-execution.md).
   */
  compiledExecution: boolean;
  /** Trusted documents: when set, only these operations run, by id (src/persistedDocuments.ts). */
  persistedDocuments?: PersistedDocuments;
}

export const defaultHttpPolicy: HttpPolicy = {
  corsOrigins: [],
  introspection: true,
  query: {},
  budget: {},
  rate: {},
  yaml: {},
  maxBodyBytes: 256 * 1024,
  compiledExecution: false,
};

export interface ServerContext {
  req?: IncomingMessage;
  /** Set by the WebSocket server once `connection_init` was authenticated, and by the HTTP server. */
  caller?: Caller;
  /** Set by the HTTP server when `Gateway.arrive` spent this request's operation. */
  operationSpent?: boolean;
  closeConnection?: (code: number, reason: string) => void;
  /** Set by the WebSocket server (and a graphql-sse stream): where a subscription's results go. */
  outlet?: { to: PushOutlet; id: string };
}

const requestIdPattern = /^[\w.:-]{1,128}$/;

export function unauthenticated(): GraphQLError {
  return new GraphQLError('Unauthorized: send a valid Kubernetes bearer token.', {
    extensions: { code: 'UNAUTHENTICATED', http: { status: 401, headers: { 'WWW-Authenticate': 'Bearer' } } },
  });
}

function tooManyFailedTokens(retryAfterSeconds: number): GraphQLError {
  return new GraphQLError('Too many invalid tokens from this client; try again later.', {
    extensions: {
      code: 'RATE_LIMITED',
      http: { status: 429, headers: { 'Retry-After': String(retryAfterSeconds) } },
    },
  });
}

/**
 * The caller of a request, as Kubernetes knows them; throws UNAUTHENTICATED,
 * or RATE_LIMITED when `client` (its address) sent too many tokens that failed.
 * In anonymous mode a request without credentials is the local caller; one that
 * sends any, even bad ones, is reviewed like any other.
 */
export async function authenticate(
  deps: Pick<GatewayDeps, 'authenticator' | 'anonymous'>,
  header: string | null | undefined,
  client: string,
): Promise<Caller> {
  if (deps.anonymous && !header) return localCaller;
  const token = bearerToken(header);
  if (!token) throw unauthenticated();
  let caller: Caller | null;
  try {
    caller = await deps.authenticator.authenticate(token, client);
  } catch (err) {
    if (err instanceof TooManyFailedTokens) throw tooManyFailedTokens(err.retryAfterSeconds);
    throw err;
  }
  if (!caller) throw unauthenticated();
  return caller;
}

/** Only the trusted documents run over HTTP, named by id; the WebSocket server does the same (src/app.ts). */
function useTrustedDocuments(documents: PersistedDocuments) {
  return usePersistedOperations({
    allowArbitraryOperations: false,
    extractPersistedOperationId: (params) => persistedDocumentId(params as { documentId?: unknown; extensions?: unknown }),
    getPersistedOperation: (id) => documents.get(id) ?? null,
    customErrors: {
      persistedQueryOnly: persistedDocumentErrors.arbitrary,
      keyNotFound: persistedDocumentErrors.missingId,
      notFound: persistedDocumentErrors.unknown,
    },
  });
}

/** yoga, and what the HTTP server in front of it charges before yoga reads a request. */
export interface Gateway {
  yoga: YogaServerInstance<ServerContext, Context>;
  /**
   * Spends one operation of `user`'s rate for an HTTP request that just arrived: `true`, or the seconds to wait
   * (answer 429 then, without handing the request to yoga). An admitted request is handed over with
   * `operationSpent: true` in its server context, so it is not charged again.
   */
  arrive: (user: string) => true | number;
}

/** The gateway's yoga instance, so tests can call `yoga.fetch` without a network. */
export function createGateway(deps: GatewayDeps): Gateway {
  const subscriptions = { ...defaultSubscriptionLimits, ...deps.subscriptions };
  const http = { ...defaultHttpPolicy, ...deps.http };
  const yaml = { ...defaultYamlLimits, ...http.yaml };
  const rate = useRateLimit(http.rate);
  let graphiqlHtml: string | undefined;
  /** What an operation, or one execution of a subscription group's selection, runs with as `caller`. */
  const contextFor = (caller: Caller, requestId: string = randomUUID()): Context => {
    const accessReviews = new AccessReviewBudget(deps.maxAccessReviews ?? defaultMaxAccessReviews);
    const kube = !caller.token
      ? deps.kube
      : deps.writeAs === 'impersonate'
        ? deps.kube.impersonating(caller)
        : deps.kube.forCaller(caller.token);
    return {
      requestId,
      logger: deps.logger.child({ requestId, user: caller.username }),
      caller,
      authorizer: deps.authorizer,
      accessReviews,
      cache: deps.cache,
      loaders: new ObjectLoaders({
        cache: deps.cache,
        kube,
        caller,
        authorizer: deps.authorizer,
        accessReviews,
        mode: deps.readMode,
      }),
      kube,
      subscriptions,
      yaml,
      fanOut,
    };
  };
  const fanOut = new FanOut({
    schema: deps.schema,
    cache: deps.cache,
    authorizer: deps.authorizer,
    logger: deps.logger,
    limits: subscriptions,
    contextFor: (caller) => contextFor(caller, 'subscription-event'),
    execute: budgetedExecute(http.budget),
    onDelivered: (kind, count) => deps.metrics.eventsDelivered.inc({ kind }, count),
  });
  const yoga = createYoga<ServerContext, Context>({
    schema: deps.schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    batching: false,
    cors: http.corsOrigins.length
      ? { origin: http.corsOrigins, credentials: true, allowedHeaders: ['authorization', 'content-type', 'x-request-id'] }
      : false,
    plugins: [
      // First: it replaces the execute function, so one placed before it would drop the wrappers of those before.
      ...(http.compiledExecution ? [useCompiledExecution(deps.metrics, deps.logger)] : []),
      useMetrics(deps.metrics),
      useTracing(),
      // GET and form posts must carry a header a cross-site form cannot set; JSON POSTs are preflighted anyway.
      useCSRFPrevention({ requestHeaders: ['x-graphql-yoga-csrf', 'authorization'] }),
      // A caller past the operation rate is refused before the cost is reckoned; the cost rate is charged after.
      rate.operations,
      ...useQueryLimits(http.query),
      rate.cost,
      useExecutionBudget(http.budget),
      ...(deps.authenticator ? [useSessionReview({ authenticator: deps.authenticator, logger: deps.logger })] : []),
      useSubscriptionLimits(subscriptions.maxPerUser),
      // Last: the subscription's source stream is its result stream (the group executes, not graphql-js per member).
      useSubscriptionFanOut(),
      // A closed HTTP stream (SSE) returns its subscription's iterator, so its SubscriberQueue is released. For
      // queries the execution budget stops at a closed request (why not yoga's useExecutionCancellation: there).
      useSubscriptionCancellation(),
      useIntrospectionSwitch(http.introspection),
      // @defer and @stream, answered incrementally: multipart/mixed or SSE over HTTP, several `next`s over graphql-ws.
      useDeferStream(),
      ...(http.persistedDocuments ? [useTrustedDocuments(http.persistedDocuments)] : []),
    ],
    graphiql: { subscriptionsProtocol: 'WS', title: 'Tekton resources' },
    // From the installed package, inlined: the page loads nothing from another host (src/graphiql.ts).
    renderGraphiQL: (options) => (graphiqlHtml ??= graphiqlPage(options)),
    // Unexpected errors become "Unexpected error." with code INTERNAL_SERVER_ERROR; the cause is logged.
    maskedErrors: true,
    logging: {
      debug: (...args) => deps.logger.debug(args.map(String).join(' ')),
      info: (...args) => deps.logger.info(args.map(String).join(' ')),
      warn: (...args) => deps.logger.warn(args.map(String).join(' ')),
      error: (...args) => {
        const err = args.find((a) => a instanceof Error);
        deps.logger.error(
          { err },
          args
            .filter((a) => !(a instanceof Error))
            .map(String)
            .join(' ') || 'error',
        );
      },
    },
    context: async ({ request, req, caller: wsCaller, closeConnection, outlet }): Promise<Context> => {
      const header = request?.headers.get('x-request-id');
      const requestId = header && requestIdPattern.test(header) ? header : randomUUID();
      const caller =
        wsCaller ?? (await authenticate(deps, request?.headers.get('authorization'), req?.socket.remoteAddress ?? ''));
      return {
        ...contextFor(caller, requestId),
        ...(closeConnection ? { closeConnection } : {}),
        ...(outlet ? { outlet } : {}),
      };
    },
  });
  return { yoga, arrive: rate.arrive };
}

/** yoga's `useExecutionCancellation` for subscriptions only: their executor stops when the request's signal aborts. */
function useSubscriptionCancellation(): Plugin<Context> {
  return {
    onSubscribe({ args }) {
      // envelop's ExecutionArgs do not declare the executor's `signal`.
      (args as { signal?: AbortSignal }).signal = requestSignal(args.contextValue);
    },
  };
}
