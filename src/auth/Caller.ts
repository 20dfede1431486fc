/** Who is asking: a user as Kubernetes authenticated them, with the token to act as them. */
export interface Caller {
  username: string;
  uid?: string;
  groups: string[];
  /** The caller's own bearer token, passed through on writes; absent in anonymous mode. */
  token?: string;
}

/** Anonymous local mode: the gateway's own identity serves everyone on this machine. */
export const localCaller: Caller = { username: 'local', groups: [] };
