import { GraphQLError } from 'graphql';

export const pageSize = { default: 100, max: 500 };

/** A plain list's `limit` argument: `fallback` when absent, never below 0 or above `max`. */
export function clampLimit(limit: number | null | undefined, fallback: number, max: number = pageSize.max): number {
  return Math.max(0, Math.min(limit ?? fallback, max));
}

export interface PageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

export interface Page<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  totalCount: number;
}

const encode = (key: string) => Buffer.from(key, 'utf8').toString('base64url');
const decode = (cursor: string) => Buffer.from(cursor, 'base64url').toString('utf8');

export function badInput(message: string, argument: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', argument } });
}

/**
 * Keyset pagination over items sorted by `key`: a cursor names an item's key,
 * not its offset, so pages stay stable while objects come and go.
 */
export function paginate<T>(sorted: readonly T[], key: (item: T) => string, args: PageArgs): Page<T> {
  for (const arg of ['first', 'last'] as const) {
    const n = args[arg];
    if (n != null && (n < 0 || n > pageSize.max)) throw badInput(`${arg} must be between 0 and ${pageSize.max}`, arg);
  }
  const firstAfter = (k: string) => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (key(sorted[mid] as T) <= k) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const firstAtOrAfter = (k: string) => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (key(sorted[mid] as T) < k) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  let start = args.after ? firstAfter(decode(args.after)) : 0;
  let end = args.before ? firstAtOrAfter(decode(args.before)) : sorted.length;
  const first = args.first ?? (args.last == null ? pageSize.default : undefined);
  if (first != null && end - start > first) end = start + first;
  if (args.last != null && end - start > args.last) start = end - args.last;
  const edges = sorted.slice(start, end).map((node) => ({ cursor: encode(key(node)), node }));
  return {
    edges,
    pageInfo: {
      hasPreviousPage: start > 0,
      hasNextPage: end < sorted.length,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
    totalCount: sorted.length,
  };
}
