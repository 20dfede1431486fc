import { GraphQLError } from 'graphql';

/** A DNS-1123 label: what Kubernetes accepts as a namespace name. */
const label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** A DNS-1123 subdomain: what Kubernetes accepts as the name of most objects. */
const subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export const isNamespaceName = (s: string): boolean => s.length <= 63 && label.test(s);
export const isObjectName = (s: string): boolean => s.length <= 253 && subdomain.test(s);

/** BAD_USER_INPUT naming the argument; the value is quoted only in part, so a huge one does not echo back. */
function invalid(argument: string, value: string, rule: string): GraphQLError {
  const shown = value.length > 64 ? `${value.slice(0, 64)}…` : value;
  return new GraphQLError(`Invalid ${argument} ${JSON.stringify(shown)}: ${rule}.`, {
    extensions: { code: 'BAD_USER_INPUT', argument },
  });
}

/**
 * Throws BAD_USER_INPUT unless `namespace` could name a namespace. Checked
 * before any access review or Kubernetes path is built from it, so a name no
 * namespace can have costs nothing.
 */
export function requireNamespaceName(namespace: string, argument = 'namespace'): void {
  if (!isNamespaceName(namespace)) {
    throw invalid(argument, namespace, 'a namespace is a DNS-1123 label (a-z, 0-9, "-"; at most 63 characters)');
  }
}

/** Throws BAD_USER_INPUT unless `name` could name an object (a DNS-1123 subdomain of at most 253 characters). */
export function requireObjectName(name: string, argument = 'name'): void {
  if (!isObjectName(name)) {
    throw invalid(argument, name, 'a name is a DNS-1123 subdomain (a-z, 0-9, "-", "."; at most 253 characters)');
  }
}
