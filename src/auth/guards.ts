import { GraphQLError } from 'graphql';
import type { KindSpec } from '../kube/kinds.js';
import type { AccessReviewBudget } from './AccessReviewBudget.js';
import type { Authorizer, Verb } from './Authorizer.js';
import type { Caller } from './Caller.js';

/** What an authorization check needs of a request (a Context has it). */
export interface AccessCheck {
  authorizer: Authorizer;
  caller: Caller;
  accessReviews: AccessReviewBudget;
}

export function forbidden(verb: Verb, kind: KindSpec, namespace?: string): GraphQLError {
  const where = namespace ? `in namespace ${namespace}` : 'across all namespaces';
  return new GraphQLError(`Forbidden: you may not ${verb} ${kind.plural} ${where}.`, {
    extensions: { code: 'FORBIDDEN' },
  });
}

/** Throws FORBIDDEN unless Kubernetes RBAC lets the caller `verb` `kind` in `namespace`. */
export async function requireAllowed(ctx: AccessCheck, verb: Verb, kind: KindSpec, namespace?: string): Promise<void> {
  if (!(await ctx.authorizer.allowed(ctx.caller, verb, kind, namespace, ctx.accessReviews)))
    throw forbidden(verb, kind, namespace);
}
