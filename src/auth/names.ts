import { GraphQLError } from 'graphql';

/** A DNS-1123 label: what Kubernetes accepts as a namespace name. */
const label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** A DNS-1123 subdomain: what Kubernetes accepts as the name of most objects. */
const subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

// `unknown`: federation representations are the caller's JSON, so a key may be missing or not a string.
export const isNamespaceName = (s: unknown): s is string => typeof s === 'string' && s.length <= 63 && label.test(s);
export const isObjectName = (s: unknown): s is string => typeof s === 'string' && s.length <= 253 && subdomain.test(s);

/** BAD_USER_INPUT naming the argument; the value is quoted only in part, so a huge one does not echo back. */
function invalid(argument: string, value: unknown, rule: string): GraphQLError {
  const text = typeof value === 'string' ? value : String(value);
  const shown = text.length > 64 ? `${text.slice(0, 64)}…` : text;
  return new GraphQLError(`Invalid ${argument} ${typeof value === 'string' ? JSON.stringify(shown) : shown}: ${rule}.`, {
    extensions: { code: 'BAD_USER_INPUT', argument },
  });
}

/**
 * Throws BAD_USER_INPUT unless `namespace` could name a namespace. Checked
 * before any access review or Kubernetes path is built from it, so a name no
 * namespace can have costs nothing.
 */
export function requireNamespaceName(namespace: unknown, argument = 'namespace'): asserts namespace is string {
  if (!isNamespaceName(namespace)) {
    throw invalid(argument, namespace, 'a namespace is a DNS-1123 label (a-z, 0-9, "-"; at most 63 characters)');
  }
}

/** Throws BAD_USER_INPUT unless `name` could name an object (a DNS-1123 subdomain of at most 253 characters). */
export function requireObjectName(name: unknown, argument = 'name'): asserts name is string {
  if (!isObjectName(name)) {
    throw invalid(argument, name, 'a name is a DNS-1123 subdomain (a-z, 0-9, "-", "."; at most 253 characters)');
  }
}
