import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import {
  type ConstDirectiveNode,
  type DirectiveNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  GraphQLError,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  getNamedType,
  getNullableType,
  isCompositeType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
  valueFromASTUntyped,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';

export interface QueryLimits {
  /** Nesting of fields. */
  maxDepth: number;
  /** Aliases in one operation (each alias is another execution of a field). */
  maxAliases: number;
  /** Lexical tokens in one document, checked while parsing. */
  maxTokens: number;
  /** Estimated cost of an operation (`operationCost`): about the objects it may resolve. */
  maxCost: number;
}

export const defaultQueryLimits: QueryLimits = { maxDepth: 12, maxAliases: 30, maxTokens: 3000, maxCost: 20_000 };

/**
 * A list nobody declared a size for (a test keeps every list declared), as a
 * router's default list size would weigh it.
 */
const undeclaredListSize = 100;

/** A mutation does writes, whatever it selects; weighed as Apollo's demand control weighs it. */
const mutationCost = 10;

/** Each running operation's estimated cost, by its context: the rate limit charges it (useRateLimit). */
const costs = new WeakMap<object, number>();

/** The estimated cost of the operation whose context this is, once useQueryLimits has reckoned it. */
export function estimatedCost(context: object): number | undefined {
  return costs.get(context);
}

/**
 * Depth, aliases and tokens (graphql-armor), checked while parsing and
 * validating; cost (below), checked once variables are known (a list of ids
 * in a variable weighs as much as the same list written inline), before
 * anything runs.
 */
/** graphql-armor's refusals carry no code: this one throws its error again with a stable `extensions.code`. */
const withCode = (code: string) => (_context: unknown, err: GraphQLError) => {
  throw new GraphQLError(err.message, { extensions: { code } });
};

// biome-ignore lint/suspicious/noExplicitAny: graphql-armor's plugins are typed for any context
export function useQueryLimits(limits: Partial<QueryLimits> = {}): Plugin<any>[] {
  const l = { ...defaultQueryLimits, ...limits };
  const refusal = (args: {
    schema: GraphQLSchema;
    document: DocumentNode;
    operationName?: string | null;
    variableValues?: unknown;
    contextValue: object;
  }): GraphQLError | undefined => {
    const cost = operationCost(
      args.schema,
      args.document,
      args.operationName ?? undefined,
      (args.variableValues ?? {}) as Record<string, unknown>,
    );
    costs.set(args.contextValue, cost);
    if (cost <= l.maxCost) return undefined;
    return new GraphQLError(
      `Query too costly: about ${cost} objects, over the limit of ${l.maxCost}. Ask for smaller pages or fewer ids.`,
      { extensions: { code: 'QUERY_TOO_COSTLY', cost, maxCost: l.maxCost } },
    );
  };
  return [
    maxTokensPlugin({ n: l.maxTokens }),
    maxDepthPlugin({ n: l.maxDepth, flattenFragments: true, onReject: [withCode('QUERY_TOO_DEEP')] }),
    maxAliasesPlugin({ n: l.maxAliases, onReject: [withCode('TOO_MANY_ALIASES')] }),
    {
      onExecute({ args, setResultAndStopExecution }) {
        const error = refusal(args);
        if (error) setResultAndStopExecution({ errors: [error] });
      },
      onSubscribe({ args, setResultAndStopExecution }) {
        const error = refusal(args);
        if (error) setResultAndStopExecution({ errors: [error] });
      },
    },
  ];
}

/** What a field declares about its cost (src/schema/cost.ts), read back from the schema. */
interface FieldCost {
  /** `@cost(weight:)` of the field, else of its type. */
  weight: number | undefined;
  /** `@listSize`. */
  listSize: { assumedSize: number | undefined; slicingArguments: string[]; sizedFields: string[] } | undefined;
  /** The list argument it returns one item per entry of (the `sizedByArgument` extension). */
  sizedByArgument: string | undefined;
}

const declarations = new WeakMap<GraphQLField<unknown, unknown>, FieldCost>();

function directiveArgs(nodes: readonly ConstDirectiveNode[] | undefined, name: string): Record<string, unknown> | undefined {
  const node = nodes?.find((d) => d.name.value === name);
  if (!node) return undefined;
  return Object.fromEntries((node.arguments ?? []).map((a) => [a.name.value, valueFromASTUntyped(a.value)]));
}

function typeWeight(type: GraphQLNamedType): number | undefined {
  const weight = directiveArgs(type.astNode?.directives, 'cost')?.weight;
  return typeof weight === 'number' ? weight : undefined;
}

/** The directives printed in the SDL are the ones read here: one source of truth for the gateway and routers. */
export function fieldCost(field: GraphQLField<unknown, unknown>): FieldCost {
  let found = declarations.get(field);
  if (!found) {
    const cost = directiveArgs(field.astNode?.directives, 'cost');
    const listSize = directiveArgs(field.astNode?.directives, 'listSize');
    const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
    const sizedBy = field.extensions?.sizedByArgument;
    found = {
      weight: typeof cost?.weight === 'number' ? cost.weight : typeWeight(getNamedType(field.type)),
      listSize: listSize && {
        assumedSize: typeof listSize.assumedSize === 'number' ? listSize.assumedSize : undefined,
        slicingArguments: strings(listSize.slicingArguments),
        sizedFields: strings(listSize.sizedFields),
      },
      sizedByArgument: typeof sizedBy === 'string' ? sizedBy : undefined,
    };
    declarations.set(field, found);
  }
  return found;
}

/**
 * The estimated cost of an operation, as the IBM cost specification and
 * Apollo's demand control reckon it (docs/security.md, "Cost"): a field costs
 * its `@cost` weight (else 1 for an object, interface or union, 0 for a scalar
 * or enum) plus what its selection costs, times the number of items it returns
 * when it is a list: the largest slicing argument given (or defaulted) of its
 * `@listSize`, else its `assumedSize`; a field named in its parent's
 * `sizedFields` takes the parent's size; `nodes(ids:)` and `_entities` count
 * their entries. A mutation costs 10 more. Fields skipped by `@skip`/`@include`
 * cost nothing.
 */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | undefined,
  variables: Record<string, unknown>,
): number {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operationName ? operations.find((o) => o.name?.value === operationName) : operations[0];
  if (!operation) return 0;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const defaults = new Map<string, unknown>();
  for (const v of operation.variableDefinitions ?? []) {
    if (v.defaultValue) defaults.set(v.variable.name.value, valueFromASTUntyped(v.defaultValue));
  }
  const argumentValue = (node: ValueNode): unknown => {
    if (node.kind !== Kind.VARIABLE) return valueFromASTUntyped(node, variables);
    const name = node.name.value;
    return name in variables ? variables[name] : defaults.get(name);
  };
  const skipped = (directives: readonly DirectiveNode[] | undefined): boolean =>
    (directives ?? []).some((d) => {
      const cond = d.arguments?.find((a) => a.name.value === 'if');
      const value = cond ? argumentValue(cond.value) : undefined;
      return (d.name.value === 'skip' && value === true) || (d.name.value === 'include' && value === false);
    });

  /** The size a `@listSize` gives its field (and its sized fields). */
  const declaredSize = (field: FieldNode, def: GraphQLField<unknown, unknown>, cost: FieldCost): number | undefined => {
    if (cost.sizedByArgument) {
      const arg = field.arguments?.find((a) => a.name.value === cost.sizedByArgument);
      const value = arg ? argumentValue(arg.value) : undefined;
      return Array.isArray(value) ? value.length : value == null ? 0 : 1;
    }
    if (!cost.listSize) return undefined;
    let largest: number | undefined;
    for (const name of cost.listSize.slicingArguments) {
      const given = field.arguments?.find((a) => a.name.value === name);
      const value = given ? argumentValue(given.value) : def.args.find((a) => a.name === name)?.defaultValue;
      if (typeof value === 'number' && Number.isInteger(value)) largest = Math.max(largest ?? 0, value);
    }
    return largest ?? cost.listSize.assumedSize;
  };

  // A fragment spread twice costs its selection twice; computing it once keeps the walk linear in the document.
  const memo = new Map<string, number>();

  const selectionCost = (
    set: SelectionSetNode,
    parent: GraphQLNamedType,
    sized: { fields: string[]; size: number } | undefined,
  ): number => {
    let total = 0;
    for (const sel of set.selections) {
      if (skipped(sel.directives)) continue;
      if (sel.kind === Kind.FIELD) {
        total += fieldCostOf(sel, parent, sized?.fields.includes(sel.name.value) ? sized.size : undefined);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        const cond = sel.typeCondition ? schema.getType(sel.typeCondition.name.value) : parent;
        total += selectionCost(sel.selectionSet, cond ?? parent, sized);
      } else {
        const frag = fragments.get(sel.name.value);
        if (!frag) continue;
        const key = `${frag.name.value}\u0000${sized ? `${sized.fields.join(',')}:${sized.size}` : ''}`;
        let cost = memo.get(key);
        if (cost === undefined) {
          const cond = schema.getType(frag.typeCondition.name.value);
          cost = selectionCost(frag.selectionSet, cond ?? parent, sized);
          memo.set(key, cost);
        }
        total += cost;
      }
    }
    return total;
  };

  const fieldCostOf = (field: FieldNode, parent: GraphQLNamedType, upstreamSize: number | undefined): number => {
    if (field.name.value.startsWith('__')) return 0; // __typename; introspection is bounded by the schema
    const def = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[field.name.value] : undefined;
    if (!def) return 0;
    const cost = fieldCost(def);
    const size = declaredSize(field, def, cost);
    const isList = isListType(getNullableType(def.type));
    const count = !isList ? 1 : (upstreamSize ?? size ?? undeclaredListSize);
    const named = getNamedType(def.type);
    const weight = cost.weight ?? (isCompositeType(named) ? 1 : 0);
    const children = field.selectionSet
      ? selectionCost(
          field.selectionSet,
          named,
          cost.listSize?.sizedFields.length && size !== undefined ? { fields: cost.listSize.sizedFields, size } : undefined,
        )
      : 0;
    return count * (weight + children);
  };

  const root =
    operation.operation === 'query'
      ? schema.getQueryType()
      : operation.operation === 'mutation'
        ? schema.getMutationType()
        : schema.getSubscriptionType();
  if (!root) return 0;
  return (operation.operation === 'mutation' ? mutationCost : 0) + selectionCost(operation.selectionSet, root, undefined);
}
