/**
 * Who is asking: a user as Kubernetes authenticated them (all of it: a scoped
 * token's `uid` and `extra` narrow what it may do), with the token to act as them.
 */
export interface Caller {
  username: string;
  uid?: string;
  groups: string[];
  /** TokenReview's `extra`, e.g. `authentication.kubernetes.io/credential-id`; passed on in reviews and impersonation. */
  extra?: Record<string, string[]>;
  /** The caller's own bearer token, passed through on writes; absent in anonymous mode. */
  token?: string;
}

/** Anonymous local mode: the gateway's own identity serves everyone on this machine. */
export const localCaller: Caller = { username: 'local', groups: [] };

/** The identity Kubernetes decides on, as one string: equal strings, equal rights. */
export function identityKey(caller: Caller): string {
  const extra = Object.entries(caller.extra ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([caller.username, caller.uid ?? '', [...caller.groups].sort(), extra]);
}
