import type { Logger } from 'pino';
import type { AccessReviewBudget } from './auth/AccessReviewBudget.js';
import type { Authorizer } from './auth/Authorizer.js';
import type { Caller } from './auth/Caller.js';
import type { KubeClient } from './kube/KubeClient.js';
import type { ResourceCache } from './kube/ResourceCache.js';
import type { ObjectLoaders } from './loaders.js';
import type { YamlLimits } from './resources/readYaml.js';
import type { FanOut, PushOutlet } from './subscriptions/FanOut.js';
import type { SubscriptionLimits } from './subscriptions/limits.js';

/** What every resolver gets: who asked, and how to reach Kubernetes on their behalf. */
export interface Context {
  requestId: string;
  logger: Logger;
  caller: Caller;
  /** Checks reads from the shared cache against the caller's RBAC. */
  authorizer: Authorizer;
  /** This operation's share of access reviews; pass it to every `authorizer` call. */
  accessReviews: AccessReviewBudget;
  cache: ResourceCache;
  /** Reads, batched and filtered to what the caller may see. */
  loaders: ObjectLoaders;
  subscriptions: SubscriptionLimits;
  /** Bounds on YAML inputs (the migrate and import mutations). */
  yaml: YamlLimits;
  /** Subscriptions: groups subscribers and sends each event's bytes to every member. */
  fanOut: FanOut;
  /** Over WebSocket or a graphql-sse stream: where this operation's results are written, and its id there. */
  outlet?: { to: PushOutlet; id: string };
  /** Over WebSocket: closes the connection (e.g. 4403 when access is revoked). */
  closeConnection?: (code: number, reason: string) => void;
  /** Writes go through this client, with the caller's credentials. */
  kube: KubeClient;
}
