import { KubeApiError } from './kube/KubeApiError.js';
import type { KubeObject } from './kube/kinds.js';

/** One problem with an input, named by its path, e.g. `input.params[0].value`. */
export interface FieldError {
  path: string;
  message: string;
}

/**
 * The errors a caller can act on. Resolvers throw them; the Pothos errors
 * plugin returns them as typed members of a field's result union. Anything
 * else is masked as "Unexpected error.".
 */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  constructor(readonly fieldErrors: FieldError[]) {
    super(
      fieldErrors.length === 1
        ? `Invalid input: ${fieldErrors[0]?.path} ${fieldErrors[0]?.message}`
        : `Invalid input: ${fieldErrors.length} problems`,
    );
  }
}

export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
  constructor(
    readonly kind: string,
    readonly namespace: string,
    readonly resourceName: string,
  ) {
    super(`${kind} ${namespace}/${resourceName} not found`);
  }
}

/** The write lost a race: the object exists already, or changed since the caller read it. */
export class ConflictError extends Error {
  override readonly name = 'ConflictError';
  constructor(
    message: string,
    readonly current: KubeObject | undefined,
  ) {
    super(message);
  }
}

/**
 * Runs `attempt` (read, change, write) again when it lost a race (a ConflictError), at most `retries` more
 * times: each try reads the object afresh, so it writes over the newest version or fails with the conflict.
 */
export async function retryOnConflict<T>(attempt: () => Promise<T>, retries = 3): Promise<T> {
  for (let tries = 0; ; tries++) {
    try {
      return await attempt();
    } catch (err) {
      if (err instanceof ConflictError && tries < retries) continue;
      throw err;
    }
  }
}

export class ForbiddenError extends Error {
  override readonly name = 'ForbiddenError';
}

/** Kubernetes refused for a reason outside the caller's input (429, 5xx, unreachable). */
export class UnavailableError extends Error {
  override readonly name = 'UnavailableError';
}

/** The object is still used; `force` deletes it all the same. */
export class InUseError extends Error {
  override readonly name = 'InUseError';
  constructor(
    message: string,
    readonly bindings: readonly KubeObject[],
  ) {
    super(message);
  }
}

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
