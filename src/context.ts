import type { Logger } from 'pino';
import type { Authorizer } from './auth/Authorizer.js';
import type { Caller } from './auth/Caller.js';
import type { KubeClient } from './kube/KubeClient.js';
import type { ResourceCache } from './kube/ResourceCache.js';
import type { ObjectLoaders } from './loaders.js';

/** What every resolver gets: who asked, and how to reach Kubernetes on their behalf. */
export interface Context {
  requestId: string;
  logger: Logger;
  caller: Caller;
  /** Checks reads from the shared cache against the caller's RBAC. */
  authorizer: Authorizer;
  cache: ResourceCache;
  /** Reads, batched and filtered to what the caller may see. */
  loaders: ObjectLoaders;
  /** Writes go through this client, with the caller's credentials. */
  kube: KubeClient;
}
