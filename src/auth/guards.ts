import { GraphQLError } from 'graphql';
import type { Context } from '../context.js';
import type { KindSpec } from '../kube/kinds.js';
import type { Verb } from './Authorizer.js';

export function forbidden(verb: Verb, kind: KindSpec, namespace?: string): GraphQLError {
  const where = namespace ? `in namespace ${namespace}` : 'across all namespaces';
  return new GraphQLError(`Forbidden: you may not ${verb} ${kind.plural} ${where}.`, {
    extensions: { code: 'FORBIDDEN' },
  });
}

/** Throws FORBIDDEN unless Kubernetes RBAC lets the caller `verb` `kind` in `namespace`. */
export async function requireAllowed(ctx: Context, verb: Verb, kind: KindSpec, namespace?: string): Promise<void> {
  if (!(await ctx.authorizer.allowed(ctx.caller, verb, kind, namespace, ctx.accessReviews)))
    throw forbidden(verb, kind, namespace);
}
