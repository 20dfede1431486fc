import { ConflictError, ForbiddenError, NotFoundError, UnavailableError, ValidationError } from '../errors.js';
import { KubeApiError } from './KubeApiError.js';
import type { KubeObject } from './kinds.js';

export interface KubeErrorContext {
  kind: string;
  namespace: string;
  name: string;
  /** What a 404 means when it is not the object itself (a create into a missing namespace). */
  notFound?: { kind: string; namespace: string; name: string };
  /** Reads the object as it is now, for a ConflictError. */
  current?: () => KubeObject | undefined;
}

/**
 * The one place where Kubernetes API errors become the errors a caller sees.
 * Messages from the apiserver are kept only where they describe the caller's
 * own input (422); others are replaced so nothing internal leaks.
 */
export function mapKubeError(err: unknown, ctx: KubeErrorContext): Error {
  if (!(err instanceof KubeApiError)) {
    return new UnavailableError('The Kubernetes API could not be reached; try again.');
  }
  switch (err.status) {
    case 404:
      return ctx.notFound
        ? new NotFoundError(ctx.notFound.kind, ctx.notFound.namespace, ctx.notFound.name)
        : new NotFoundError(ctx.kind, ctx.namespace, ctx.name);
    case 409:
      return new ConflictError(
        err.reason === 'AlreadyExists'
          ? `${ctx.kind} ${ctx.namespace}/${ctx.name} already exists`
          : `${ctx.kind} ${ctx.namespace}/${ctx.name} was changed by someone else; read it again and retry`,
        ctx.current?.(),
      );
    case 401:
    case 403:
      return new ForbiddenError(`Forbidden: Kubernetes RBAC does not allow this on ${ctx.kind} in namespace ${ctx.namespace}`);
    case 400:
    case 422: {
      const causes = err.details?.causes ?? [];
      return new ValidationError(
        causes.length
          ? causes.map((c) => ({ path: `input.${c.field ?? ''}`.replace(/\.$/, ''), message: c.message ?? 'invalid' }))
          : [{ path: 'input', message: err.message }],
      );
    }
    case 429:
      return new UnavailableError('The Kubernetes API is throttling requests; try again shortly.');
    default:
      return new UnavailableError(`The Kubernetes API failed (HTTP ${err.status}); try again.`);
  }
}
