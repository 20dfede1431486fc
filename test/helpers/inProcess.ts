import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { Authenticator } from '../../src/auth/Authenticator.js';
import { Authorizer } from '../../src/auth/Authorizer.js';
import type { KubeObject } from '../../src/kube/kinds.js';
import { ResourceCache } from '../../src/kube/ResourceCache.js';
import { GatewayMetrics } from '../../src/metrics.js';
import { indexes } from '../../src/resources/indexes.js';
import { schema } from '../../src/schema/index.js';
import { createGateway, type GatewayDeps } from '../../src/yoga.js';
import { kubeClientFor } from './fakeTokenReview.js';

/** A request the fake apiserver received. */
export interface SeenRequest {
  method: string;
  path: string;
  /** The SubjectAccessReview's resource attributes, for reviews. */
  review?: { user: string; verb: string; resource: string; namespace?: string };
}

export interface FakeApiserverOptions {
  /** Objects LISTs and GETs answer with, by path prefix `/apis/<group>/<version>/namespaces/<ns>/<plural>`. */
  objects?: Record<string, KubeObject[]>;
  /** Whether `user` may `verb` `resource` in `namespace` (undefined: cluster-wide); by default nobody may. */
  allows?: (user: string, verb: string, resource: string, namespace: string | undefined) => boolean;
  /** Users by bearer token, for TokenReviews. */
  tokens?: Record<string, string>;
  /** A raw answer for a path, overriding the rest (e.g. a body that is not JSON). */
  raw?: Record<string, { status: number; body: string }>;
}

/**
 * The Kubernetes API at the HTTP layer, the only part unit tests fake: TokenReviews from a token table,
 * SubjectAccessReviews from a policy function, LIST and GET from fixed objects. It records what it was asked.
 */
export async function fakeApiserver(
  options: FakeApiserverOptions,
): Promise<{ url: string; seen: SeenRequest[]; close: () => Promise<void> }> {
  const seen: SeenRequest[] = [];
  const read = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => resolve(body));
    });
  const server: Server = createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const body = await read(req);
    const answer = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(typeof value === 'string' ? value : JSON.stringify(value));
    };
    const raw = options.raw?.[path];
    if (raw) {
      seen.push({ method: req.method ?? 'GET', path });
      return answer(raw.status, raw.body);
    }
    if (path.endsWith('/subjectaccessreviews')) {
      const { spec } = JSON.parse(body) as {
        spec: { user: string; resourceAttributes: { verb: string; resource: string; namespace?: string } };
      };
      const a = spec.resourceAttributes;
      seen.push({
        method: 'POST',
        path,
        review: { user: spec.user, verb: a.verb, resource: a.resource, namespace: a.namespace },
      });
      return answer(201, { status: { allowed: options.allows?.(spec.user, a.verb, a.resource, a.namespace) ?? false } });
    }
    if (path.endsWith('/tokenreviews')) {
      seen.push({ method: 'POST', path });
      const { spec } = JSON.parse(body) as { spec: { token: string } };
      const user = options.tokens?.[spec.token];
      return answer(201, {
        spec,
        status: user ? { authenticated: true, user: { username: user, uid: user, groups: [] } } : { authenticated: false },
      });
    }
    seen.push({ method: req.method ?? 'GET', path });
    const [prefix, items] = Object.entries(options.objects ?? {}).find(([p]) => path.startsWith(p)) ?? [];
    if (prefix === undefined) return answer(200, { items: [], metadata: { resourceVersion: '1' } });
    if (path === prefix) return answer(200, { items, metadata: { resourceVersion: '1' } });
    const name = decodeURIComponent(path.slice(prefix.length + 1));
    const found = items?.find((o) => o.metadata.name === name);
    return found ? answer(200, found) : answer(404, { kind: 'Status', reason: 'NotFound', message: 'not found' });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/**
 * The gateway's yoga instance, built as src/app.ts builds it, over a fake apiserver at `url`, with no kind cached
 * (every read is a LIST as the caller): tests call `yoga.fetch` without a network server.
 */
export function inProcessGateway(url: string, overrides: Partial<GatewayDeps> = {}) {
  const logger = pino({ level: 'silent' });
  const kube = kubeClientFor(url);
  const deps: GatewayDeps = {
    schema,
    logger,
    kube,
    cache: new ResourceCache({ client: kube, logger, kinds: [], indexes }),
    authenticator: new Authenticator({ client: kube, logger }),
    authorizer: new Authorizer({ client: kube, logger }),
    anonymous: false,
    metrics: new GatewayMetrics(),
    ...overrides,
  };
  const { yoga } = createGateway(deps);
  return {
    yoga,
    /** POSTs an operation with `token`; answers the HTTP status and the parsed body. */
    async post(query: string, token?: string, variables?: Record<string, unknown>) {
      const res = await yoga.fetch('http://yoga/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      return { status: res.status, body: (await res.json()) as { data?: any; errors?: GraphQLErrorJson[] } };
    },
  };
}

export interface GraphQLErrorJson {
  message: string;
  path?: (string | number)[];
  extensions?: Record<string, unknown>;
}
