import { GraphQLError } from 'graphql';
import { forbidden } from '../auth/guards.js';
import { isNamespaceName } from '../auth/names.js';
import type { Context } from '../context.js';
import { type KindName, kinds } from '../kube/kinds.js';

/**
 * Why `node`, `nodes` or `_entities` has no object where the caller named one, as the error at that path (the
 * value there is null): FORBIDDEN when the caller may not `get` its kind in its namespace, whether or not it exists
 * (so nothing is learnt about what they may not read); NOT_FOUND otherwise. A client or a router can tell a stale
 * reference from a missing right instead of reading a bare null.
 */
export async function absence(ctx: Context, typename: string, namespace: string, name: string): Promise<GraphQLError> {
  const kind = kinds[typename as KindName] as (typeof kinds)[KindName] | undefined;
  if (kind && !isNamespaceName(namespace)) return notFound();
  if (kind && !(await ctx.authorizer.allowed(ctx.caller, 'get', kind, namespace, ctx.accessReviews))) {
    return forbidden('get', kind, namespace);
  }
  return notFound(kind ? `There is no ${typename} ${namespace}/${name}.` : `There is no ${typename} ${name} that you may read.`);
}

/** NOT_FOUND: what an ID or a representation named does not exist (or names no type of object). */
export function notFound(message = 'The ID names no object.'): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'NOT_FOUND' } });
}
