import type { KubeObject } from './kube/kinds.js';
import type { FieldError } from './resources/validation.js';

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
    readonly bindings: KubeObject[],
  ) {
    super(message);
  }
}
