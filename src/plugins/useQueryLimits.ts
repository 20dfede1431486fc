import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import {
  type ASTVisitor,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  GraphQLError,
  getNamedType,
  isCompositeType,
  Kind,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { pageSize } from '../schema/pagination.js';

export interface QueryLimits {
  /** Nesting of fields. */
  maxDepth: number;
  /** Aliases in one operation (each alias is another execution of a field). */
  maxAliases: number;
  /** Lexical tokens in one document, checked while parsing. */
  maxTokens: number;
  /** Estimated objects resolved; a connection's fields count once per object its `first`/`last` asks for. */
  maxCost: number;
}

export const defaultQueryLimits: QueryLimits = { maxDepth: 12, maxAliases: 30, maxTokens: 3000, maxCost: 20_000 };

/** Depth, aliases and tokens (graphql-armor) and cost (below), refused before anything runs. */
// biome-ignore lint/suspicious/noExplicitAny: graphql-armor's plugins are typed for any context
export function useQueryLimits(limits: Partial<QueryLimits> = {}): Plugin<any>[] {
  const l = { ...defaultQueryLimits, ...limits };
  return [
    maxTokensPlugin({ n: l.maxTokens }),
    maxDepthPlugin({ n: l.maxDepth, flattenFragments: true }),
    maxAliasesPlugin({ n: l.maxAliases }),
    {
      onValidate({ addValidationRule }) {
        addValidationRule((context: ValidationContext) => costRule(context, l.maxCost));
      },
    },
  ];
}

/**
 * Cost: every field is 1; a connection's (or list query's) children count
 * once per object it may return: its `first`/`last`, or the default page
 * size, or the maximum when the value comes in a variable.
 */
function costRule(context: ValidationContext, maxCost: number): ASTVisitor {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of context.getDocument().definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);

  const multiplier = (field: FieldNode, type: GraphQLCompositeType | undefined): number => {
    if (field.name.value === '_entities') {
      // Federation: each representation resolves one entity; a variable may hold up to the body limit's worth.
      const reps = field.arguments?.find((a) => a.name.value === 'representations')?.value;
      return reps?.kind === Kind.LIST ? Math.max(1, reps.values.length) : pageSize.max;
    }
    const arg = field.arguments?.find((a) => a.name.value === 'first' || a.name.value === 'last' || a.name.value === 'limit');
    if (arg?.value.kind === Kind.INT) return Math.max(1, Number(arg.value.value));
    if (arg) return pageSize.max;
    return type?.name.endsWith('Connection') ? pageSize.default : 1;
  };

  const cost = (set: SelectionSetNode, parent: GraphQLCompositeType | undefined, seen: Set<string>): number => {
    let total = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        const def = parent && 'getFields' in parent ? parent.getFields()[sel.name.value] : undefined;
        const named = def ? getNamedType(def.type) : undefined;
        const child = named && isCompositeType(named) ? named : undefined;
        total += 1 + (sel.selectionSet ? multiplier(sel, child) * cost(sel.selectionSet, child, seen) : 0);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        const cond = sel.typeCondition ? context.getSchema().getType(sel.typeCondition.name.value) : parent;
        total += cost(sel.selectionSet, cond && isCompositeType(cond) ? cond : parent, seen);
      } else {
        const frag = fragments.get(sel.name.value);
        if (!frag || seen.has(frag.name.value)) continue;
        const cond = context.getSchema().getType(frag.typeCondition.name.value);
        total += cost(frag.selectionSet, cond && isCompositeType(cond) ? cond : parent, new Set([...seen, frag.name.value]));
      }
      if (total > maxCost) return total;
    }
    return total;
  };

  return {
    OperationDefinition(op) {
      const root =
        op.operation === 'query'
          ? context.getSchema().getQueryType()
          : op.operation === 'mutation'
            ? context.getSchema().getMutationType()
            : context.getSchema().getSubscriptionType();
      const total = cost(op.selectionSet, root ?? undefined, new Set());
      if (total > maxCost) {
        context.reportError(
          new GraphQLError(`Query too costly: about ${total} objects, over the limit of ${maxCost}. Ask for smaller pages.`, {
            extensions: { code: 'QUERY_TOO_COSTLY' },
          }),
        );
      }
    },
  };
}
