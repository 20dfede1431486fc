import { requireAllowed } from '../auth/guards.js';
import type { Context } from '../context.js';
import { type KindName, type KubeObject, kinds } from '../kube/kinds.js';
import { LabelSelectorError, parseLabelSelector } from '../kube/labelSelector.js';
import { badInput, type Page, type PageArgs, paginate } from './pagination.js';

export interface ListArgs extends PageArgs {
  namespace?: string | null;
  labelSelector?: string | null;
  search?: string | null;
}

/** Cursor key: namespace, then name (NUL sorts before every character a name may hold), so it orders as `compareObjects`. */
export const orderKey = (o: KubeObject) => `${o.metadata.namespace ?? ''}\u0000${o.metadata.name}`;

/**
 * The shared shape of every list query: readable objects of a kind, filtered by
 * namespace, label selector, text and `filter`, in stable order, one page.
 */
export async function listConnection<T extends KubeObject = KubeObject>(
  ctx: Context,
  kind: KindName,
  args: ListArgs,
  options: { filter?: (o: T) => boolean; text?: (o: T) => string[] } = {},
): Promise<Page<T>> {
  if (args.namespace) await requireAllowed(ctx, 'list', kinds[kind], args.namespace);
  let matches: (labels: Record<string, string>) => boolean = () => true;
  if (args.labelSelector) {
    try {
      matches = parseLabelSelector(args.labelSelector);
    } catch (err) {
      if (err instanceof LabelSelectorError) throw badInput(`labelSelector: ${err.message}`, 'labelSelector');
      throw err;
    }
  }
  const search = args.search?.toLowerCase();
  // Sorted by the loader (as `orderKey` orders); shared with other readers, so filtered into a copy only when asked.
  const all = (await ctx.loaders.list(kind, args.namespace ?? undefined)) as readonly T[];
  const filtered = args.labelSelector || options.filter || search;
  const items = !filtered
    ? all
    : all.filter(
        (o) =>
          matches(o.metadata.labels ?? {}) &&
          (!options.filter || options.filter(o)) &&
          (!search || [o.metadata.name, ...(options.text?.(o) ?? [])].some((s) => s.toLowerCase().includes(search))),
      );
  return paginate(items, orderKey, args);
}

export const listArgsDescriptions = {
  namespace: 'Only this namespace; all the caller may list when omitted.',
  labelSelector: 'A Kubernetes label selector, e.g. `team=a,tier!=prod`.',
  search: 'Case-insensitive text in the name or description.',
};
