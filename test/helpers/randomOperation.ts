import fc from 'fast-check';
import {
  type GraphQLArgument,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
  getNamedType,
  isAbstractType,
  isCompositeType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isUnionType,
} from 'graphql';

/**
 * Random valid GraphQL operations, walked from a schema: fields, arguments of
 * the right types (from pools of ordinary and hostile values), aliases, inline
 * and named fragments, variables. A case is a list of choices; each choice picks
 * one thing, and a missing choice picks the simplest (the first field, no
 * arguments, no alias), so fast-check shrinks a failure towards a small operation.
 *
 * Every selection set also asks for what a leak check needs: `__typename`, and
 * `namespace` / `id` / `name` where the type has them (KubernetesObject, Node,
 * Namespace), so no object in an answer can hide where it comes from.
 */
export interface ValuePools {
  /** Values for arguments and input fields named `namespace`. */
  namespaces: readonly string[];
  /** Names of objects (`name`, `pipeline`, `resource`, `slot`, …). */
  names: readonly string[];
  /** Global IDs, for `ID` arguments. */
  ids: readonly string[];
  /** Federation representations, for `_Any`. */
  representations: readonly Record<string, unknown>[];
  /** YAML documents, for `yaml`. */
  yaml: readonly string[];
  /** Any other string. */
  strings: readonly string[];
  ints: readonly number[];
}

export interface RandomOperation {
  query: string;
  variables: Record<string, unknown>;
  /** Response key → field name at the root, to tell `namespace(name:)` (which echoes its argument) from reads. */
  rootFields: Record<string, string>;
}

export interface OperationOptions {
  /** Mutations too: only those that take `dryRun` (always `true`) and `migrateLegacyPipeline` (never `apply`). */
  mutations: boolean;
  /** Deepest selection generated (the gateway's depth limit may refuse less). */
  maxDepth: number;
}

/** Arguments whose value decides whether a mutation writes: pinned so that none does. */
const pinnedArguments: Record<string, string> = { dryRun: 'true', apply: 'false' };

export function randomOperation(
  schema: GraphQLSchema,
  pools: ValuePools,
  options: OperationOptions,
): fc.Arbitrary<RandomOperation> {
  return fc
    .array(fc.nat({ max: 0xffff }), { minLength: 20, maxLength: 400 })
    .map((choices) => new OperationBuilder(schema, pools, options, choices).build());
}

type Scope = Map<string, string>;

class OperationBuilder {
  private at = 0;
  private aliases = 0;
  private readonly variableDefinitions: string[] = [];
  private readonly variables: Record<string, unknown> = {};
  private readonly fragments: string[] = [];
  private readonly kubeObject: GraphQLNamedType | undefined;
  private readonly node: GraphQLNamedType | undefined;

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly pools: ValuePools,
    private readonly options: OperationOptions,
    private readonly choices: readonly number[],
  ) {
    this.kubeObject = schema.getType('KubernetesObject') ?? undefined;
    this.node = schema.getType('Node') ?? undefined;
  }

  /** 0..n-1; 0 once the choices run out. */
  private pick(n: number): number {
    const c = this.choices[this.at++];
    return c === undefined || n <= 1 ? 0 : c % n;
  }

  /** True with `percent` % chance; false once the choices run out. */
  private flag(percent: number): boolean {
    const c = this.choices[this.at++];
    return c !== undefined && c % 100 >= 100 - percent;
  }

  private one<T>(list: readonly T[]): T {
    return list[this.pick(list.length)] as T;
  }

  build(): RandomOperation {
    const mutation = this.options.mutations && this.flag(15);
    const root = mutation ? this.schema.getMutationType() : this.schema.getQueryType();
    if (!root) throw new Error('the schema has no root type');
    const rootScope: Scope = new Map();
    const count = 1 + this.pick(3);
    const selections: string[] = [];
    for (let i = 0; i < count; i++) selections.push(this.rootSelection(root, rootScope, mutation));
    const rootFields: Record<string, string> = {};
    for (const [key, signature] of rootScope) rootFields[key] = signature.split(':')[0] ?? key;
    const header = this.variableDefinitions.length ? `(${this.variableDefinitions.join(', ')})` : '';
    const query = [`${mutation ? 'mutation' : 'query'} Random${header} { ${selections.join(' ')} }`, ...this.fragments].join(
      '\n',
    );
    return { query, variables: this.variables, rootFields };
  }

  private rootSelection(root: GraphQLObjectType, scope: Scope, mutation: boolean): string {
    const fields = Object.values(root.getFields()).filter(
      (f) => !mutation || f.args.some((a) => a.name === 'dryRun') || f.name === 'migrateLegacyPipeline',
    );
    const kind = this.pick(10);
    if (kind === 8 && !mutation) return `... on ${root.name} { ${this.field(this.one(fields), scope, 1)} }`;
    if (kind === 9 && !mutation) return this.namedFragment(root, scope, 1);
    return this.field(this.one(fields), scope, 1);
  }

  private selectionSet(type: GraphQLCompositeType, depth: number): string {
    const scope: Scope = new Map();
    const parts = this.injected(type, scope);
    if (depth >= this.options.maxDepth) return `{ ${parts.join(' ')} }`;
    const count = this.flag(85) ? 1 + this.pick(3) : 0;
    for (let i = 0; i < count; i++) parts.push(this.selection(type, scope, depth));
    return `{ ${parts.join(' ')} }`;
  }

  /** What the leak check reads, asked of every object. */
  private injected(type: GraphQLCompositeType, scope: Scope): string[] {
    const parts = ['__typename'];
    scope.set('__typename', '__typename');
    if (isObjectType(type) || isInterfaceType(type)) {
      const fields = type.getFields();
      for (const key of ['namespace', 'id', 'name'] as const) {
        const f = fields[key];
        if (f && isLeafType(getNamedType(f.type)) && (key !== 'name' || type.name === 'Namespace')) {
          if (key === 'namespace' && !this.implementsInterface(type, this.kubeObject)) continue;
          parts.push(key);
          scope.set(key, signature(f));
        }
      }
    }
    if (isAbstractType(type)) {
      for (const iface of [this.kubeObject, this.node]) {
        if (iface && isInterfaceType(iface) && iface !== type && this.overlaps(type, iface)) {
          const key = iface === this.kubeObject ? 'namespace' : 'id';
          const f = iface.getFields()[key];
          if (!f) continue;
          parts.push(`... on ${iface.name} { ${key} }`);
          scope.set(key, signature(f));
        }
      }
    }
    return parts;
  }

  private implementsInterface(type: GraphQLCompositeType, iface: GraphQLNamedType | undefined): boolean {
    if (!iface || !isInterfaceType(iface)) return false;
    if (type === iface) return true;
    return isObjectType(type) || isInterfaceType(type) ? type.getInterfaces().includes(iface) : false;
  }

  private possible(type: GraphQLCompositeType): readonly GraphQLObjectType[] {
    return isAbstractType(type) ? this.schema.getPossibleTypes(type) : [type];
  }

  private overlaps(a: GraphQLCompositeType, b: GraphQLCompositeType): boolean {
    const bs = new Set(this.possible(b));
    return this.possible(a).some((t) => bs.has(t));
  }

  private selection(type: GraphQLCompositeType, scope: Scope, depth: number): string {
    const kind = this.pick(10);
    const fields = isUnionType(type) ? [] : Object.values(type.getFields());
    if (kind === 7 || (fields.length === 0 && kind % 2 === 0)) return this.inlineFragment(type, scope, depth);
    if (kind === 8 || fields.length === 0) return this.namedFragment(this.fragmentTarget(type), scope, depth);
    return this.field(this.one(fields), scope, depth);
  }

  /** A type a fragment inside `type` may be on: itself, one of its possible types, or an interface they share. */
  private fragmentTarget(type: GraphQLCompositeType): GraphQLCompositeType {
    const candidates: GraphQLCompositeType[] = [type, ...this.possible(type)];
    for (const t of this.possible(type)) candidates.push(...t.getInterfaces());
    return this.one(candidates.filter((c) => this.overlaps(type, c)));
  }

  private inlineFragment(type: GraphQLCompositeType, scope: Scope, depth: number): string {
    const target = this.flag(20) ? type : this.fragmentTarget(type);
    return `... ${target === type && this.flag(50) ? '' : `on ${target.name} `}{ ${this.fragmentBody(target, scope, depth)} }`;
  }

  private namedFragment(target: GraphQLCompositeType, scope: Scope, depth: number): string {
    const name = `F${this.fragments.length}`;
    this.fragments.push(''); // reserve the name: the body may define fragments of its own
    const index = this.fragments.length - 1;
    this.fragments[index] = `fragment ${name} on ${target.name} { ${this.fragmentBody(target, scope, depth)} }`;
    return `...${name}`;
  }

  /** A fragment's fields merge into the enclosing selection set, so they share its response keys. */
  private fragmentBody(target: GraphQLCompositeType, scope: Scope, depth: number): string {
    const fields = isUnionType(target) ? [] : Object.values(target.getFields());
    if (fields.length === 0) return '__typename';
    const count = 1 + this.pick(3);
    const parts: string[] = [];
    for (let i = 0; i < count; i++) parts.push(this.field(this.one(fields), scope, depth));
    return parts.join(' ');
  }

  private field(f: GraphQLField<unknown, unknown>, scope: Scope, depth: number): string {
    const args: string[] = [];
    for (const a of f.args) {
      if (a.name in pinnedArguments) {
        args.push(`${a.name}: ${pinnedArguments[a.name]}`);
        continue;
      }
      const required = isNonNullType(a.type) && a.defaultValue === undefined;
      if (required || this.flag(35)) args.push(`${a.name}: ${this.argument(a)}`);
    }
    const named = getNamedType(f.type);
    const sig = `${signature(f)}(${args.join(',')})`;
    // A key is reused only by the same leaf field with the same arguments; anything else gets an alias of its own.
    let key = f.name;
    const taken = scope.get(key);
    const sameLeaf = taken === sig || (taken === signature(f) && args.length === 0);
    if ((taken !== undefined && (!sameLeaf || isCompositeType(named))) || this.flag(15)) key = `${f.name}_${++this.aliases}`;
    scope.set(key, sig);
    const head = key === f.name ? f.name : `${key}: ${f.name}`;
    const argText = args.length ? `(${args.join(', ')})` : '';
    const sub = isCompositeType(named) ? ` ${this.selectionSet(named, depth + 1)}` : '';
    return `${head}${argText}${sub}`;
  }

  private argument(a: GraphQLArgument): string {
    const value = this.value(a.type, a.name);
    // Some values go in variables: the same types, another path through the gateway (coercion of variables).
    if (getNamedType(a.type).name === '_Any' || this.flag(30)) {
      const name = `v${this.variableDefinitions.length}`;
      this.variableDefinitions.push(`$${name}: ${String(a.type)}`);
      this.variables[name] = value;
      return `$${name}`;
    }
    return literal(value);
  }

  private value(type: GraphQLInputType, name: string): unknown {
    if (isNonNullType(type)) return this.value(type.ofType, name);
    if (isListType(type)) {
      const length = this.flag(5) ? 20 + this.pick(40) : this.pick(4);
      return Array.from({ length }, () => this.value(type.ofType, name));
    }
    if (isEnumType(type)) return new EnumValue(this.one(type.getValues()).name);
    if (isInputObjectType(type)) {
      const out: Record<string, unknown> = {};
      for (const f of Object.values(type.getFields())) {
        if (f.name in pinnedArguments) continue;
        const required = isNonNullType(f.type) && f.defaultValue === undefined;
        if (required || this.flag(40)) out[f.name] = this.value(f.type, f.name);
      }
      return new InputObject(out);
    }
    switch (type.name) {
      case 'Int':
        return this.one(this.pools.ints);
      case 'Boolean':
        return this.flag(50);
      case 'ID':
        return this.one(this.pools.ids);
      case '_Any':
        return this.one(this.pools.representations);
      default:
        return this.string(name);
    }
  }

  private string(name: string): string {
    const p = this.pools;
    if (name === 'namespace') return this.one(p.namespaces);
    if (name === 'yaml') return this.one(p.yaml);
    if (['name', 'pipeline', 'resource', 'slot', 'secretName', 'generateName'].includes(name))
      return this.flag(70) ? this.one(p.names) : this.one(p.strings);
    return this.one(p.strings);
  }
}

class EnumValue {
  constructor(readonly name: string) {}
  toJSON(): string {
    return this.name;
  }
}

class InputObject {
  constructor(readonly fields: Record<string, unknown>) {}
  toJSON(): Record<string, unknown> {
    return this.fields;
  }
}

function signature(f: GraphQLField<unknown, unknown>): string {
  return `${f.name}:${String(f.type)}`;
}

/** A value as a GraphQL literal (strings are JSON strings, which GraphQL reads alike). */
function literal(value: unknown): string {
  if (value instanceof EnumValue) return value.name;
  if (value instanceof InputObject)
    return `{ ${Object.entries(value.fields)
      .map(([k, v]) => `${k}: ${literal(v)}`)
      .join(', ')} }`;
  if (Array.isArray(value)) return `[${value.map((v) => literal(v)).join(', ')}]`;
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}
