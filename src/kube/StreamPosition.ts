import { randomBytes } from 'node:crypto';

/**
 * Where an event stands in a kind's stream. `version` is an etcd revision:
 * the event's own for a watched change, the LIST's for a deletion a relist
 * found. Every event at a position without `relist` leaves a subscriber's view
 * complete up to `version` (each object as the cluster had it then, or newer),
 * so that position means the same on every gateway replica. Inside a relist's
 * differences (all of them but the last), the view is not complete yet: some
 * deletions are still to come, so the position names the relist and the
 * event's index in it, which only the replica that made the relist knows.
 */
export interface StreamPosition {
  version: string;
  relist?: { id: string; index: number };
}

/** What a subscriber passes as `since`: a cursor it was given, or a bare resourceVersion (older clients). */
export type ParsedSince =
  | { kind: 'complete'; version: string }
  | { kind: 'relist'; version: string; id: string; index: number }
  | { kind: 'resourceVersion'; version: string };

const prefix = 'v1';

/** The opaque cursor of a position: `v1:<version>`, or `v1:<version>:<relist id>:<index>` inside a relist. */
export function cursorOf(position: StreamPosition): string {
  const { version, relist } = position;
  return relist ? `${prefix}:${version}:${relist.id}:${relist.index}` : `${prefix}:${version}`;
}

/** Reads `since`; undefined when it is neither a cursor nor a resourceVersion (the subscriber gets RESYNC). */
export function parseSince(since: string): ParsedSince | undefined {
  if (/^\d{1,30}$/.test(since)) return { kind: 'resourceVersion', version: since };
  const m = /^v1:(\d{1,30})(?::([0-9a-f]{12}):(\d{1,9}))?$/.exec(since);
  if (!m) return undefined;
  const version = m[1] as string;
  if (m[2] === undefined) return { kind: 'complete', version };
  return { kind: 'relist', version, id: m[2], index: Number(m[3]) };
}

/** A fresh relist id: random, so two replicas (or two runs of one) never share one. */
export function newRelistId(): string {
  return randomBytes(6).toString('hex');
}

/** Compares resourceVersions as numbers (etcd revisions, as every apiserver issues them); undefined when either is not. */
export function compareVersions(a: string, b: string): number | undefined {
  if (!/^\d{1,30}$/.test(a) || !/^\d{1,30}$/.test(b)) return undefined;
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
