import { GraphQLError } from 'graphql';
import { isNamespaceName, isObjectName } from '../kube/names.js';

export { isNamespaceName, isObjectName };

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
