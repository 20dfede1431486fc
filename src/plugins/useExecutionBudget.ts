import {
  defaultFieldResolver,
  type ExecutionArgs,
  type ExecutionResult,
  execute,
  GraphQLError,
  type GraphQLFieldResolver,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  getNamedType,
  isCompositeType,
  isObjectType,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../context.js';

/**
 * What one operation (one subscription event) may actually do, whatever its
 * cost was estimated at: the estimate trusts declared list sizes, and this is
 * what holds when a list is longer than declared.
 */
export interface ExecutionBudget {
  /** Objects resolved: each object, interface or union value, each item of such a list. */
  maxObjects: number;
  /** Response size, counted while values resolve (names, strings, numbers, punctuation), before it is serialized. */
  maxResponseBytes: number;
  /**
   * How long an operation resolves before it lets the event loop serve others (a macrotask turn: I/O, timers). One
   * tenant's largest admitted operation then delays another's simple query by about a slice, not by its whole run
   * (the hostile benchmark, docs/benchmarks.md).
   */
  sliceMs: number;
}

/**
 * 100,000 objects: five times the most the cost limit (20,000) admits by
 * estimate. 16 MiB: thirty times the largest page an ordinary query asks
 * for (500 resources with their params), a fraction of the heap.
 */
export const defaultExecutionBudget: ExecutionBudget = {
  maxObjects: 100_000,
  maxResponseBytes: 16 * 1024 * 1024,
  sliceMs: 4,
};

type BudgetCode = 'EXECUTION_BUDGET_EXCEEDED' | 'RESPONSE_TOO_LARGE';

/** One operation's (or subscription event's) use of its budget. */
class ExecutionMeter {
  objects = 0;
  bytes = 0;
  exceeded: BudgetCode | undefined;
  private calls = 0;
  private sliceStart = performance.now();
  /**
   * Fields waiting for a later turn, newest last; undefined while the operation runs freely. A stack: the newest run
   * first (the children of what just resolved), which needs no compaction. The order does not change how much is
   * pending at once: graphql's executor starts every sibling of a list before any of them waits (decision 018).
   */
  private queued: (() => void)[] | undefined;

  /** `signal`: the request's; once it aborts (the client went away), nothing more resolves. */
  constructor(
    private readonly budget: ExecutionBudget,
    private readonly signal?: AbortSignal,
  ) {}

  /** A field is about to resolve: once the budget is spent or the request is gone, nothing more does. */
  enter(): void {
    if (this.exceeded) throw stop(this.exceeded);
    if (this.signal?.aborted) throw cancelled();
  }

  charge(value: unknown, shape: FieldShape, responseKey: string | number): void {
    // `"key":` and a separator
    this.bytes += (typeof responseKey === 'string' ? responseKey.length : 0) + 4;
    if (shape.composite) {
      const n = Array.isArray(value) ? value.length : value == null ? 0 : 1;
      this.objects += n;
      this.bytes += value == null ? 4 : 2 + n * 3; // braces, brackets and commas
    } else {
      this.bytes += leafBytes(value);
    }
    if (this.objects > this.budget.maxObjects) this.exceeded = 'EXECUTION_BUDGET_EXCEEDED';
    else if (this.bytes > this.budget.maxResponseBytes) this.exceeded = 'RESPONSE_TOO_LARGE';
    if (this.exceeded) throw stop(this.exceeded);
  }

  /**
   * Whether a field waits for a later turn: once the operation has held the event loop for a slice (checked every
   * `checkEvery` fields), and then every one after it while the queue is not empty, not only the one that noticed:
   * graphql's executor walks a level's siblings synchronously, so deferring one field alone would leave the rest of
   * the walk in the same turn. Each turn then resolves about a slice's worth.
   */
  mustWait(): boolean {
    if (this.queued) return true;
    if (++this.calls % checkEvery !== 0 || performance.now() - this.sliceStart < this.budget.sliceMs) return false;
    this.queued = [];
    setImmediate(this.drain);
    return true;
  }

  /** Runs `resolveField` in a later turn. */
  later(resolveField: () => unknown): Promise<unknown> {
    const queue = this.queued ?? [];
    return new Promise((resolve, reject) =>
      queue.push(() => {
        try {
          resolve(resolveField());
        } catch (err) {
          reject(err);
        }
      }),
    );
  }

  /** One turn's slice of the queue, newest first; the rest waits for the next turn. */
  private readonly drain = (): void => {
    const queue = this.queued ?? [];
    this.sliceStart = performance.now();
    let ran = 0;
    // What runs here queues its children from microtasks, after this turn: the next turn starts with them.
    for (let next = queue.pop(); next; next = queue.pop()) {
      next();
      if (++ran % checkEvery === 0 && performance.now() - this.sliceStart >= this.budget.sliceMs) break;
    }
    if (queue.length > 0) setImmediate(this.drain);
    else this.queued = undefined;
  };

  reset(): void {
    this.objects = 0;
    this.bytes = 0;
    this.exceeded = undefined;
  }

  /** The error the caller gets, in place of any data. */
  refusal(): GraphQLError {
    const message =
      this.exceeded === 'EXECUTION_BUDGET_EXCEEDED'
        ? `The operation resolved more than ${this.budget.maxObjects} objects and was stopped. Ask for smaller pages or fewer nested lists.`
        : `The response passed ${this.budget.maxResponseBytes} bytes and was stopped. Ask for smaller pages or fewer fields.`;
    return new GraphQLError(message, {
      extensions: {
        code: this.exceeded,
        ...(this.exceeded === 'EXECUTION_BUDGET_EXCEEDED'
          ? { maxObjects: this.budget.maxObjects }
          : { maxResponseBytes: this.budget.maxResponseBytes }),
      },
    });
  }
}

function leafBytes(value: unknown): number {
  if (value == null) return 4;
  if (typeof value === 'string') return value.length + 2;
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + leafBytes(v) + 1, 2);
  if (typeof value === 'object') return JSON.stringify(value).length; // a JSON scalar; none in this schema today
  return String(value).length;
}

/**
 * Thrown from a resolver once the budget is spent. `CRITICAL_ERROR` makes
 * @graphql-tools/executor (yoga's) propagate it to the top instead of nulling
 * one field, so the rest of the operation is not executed; the result is then
 * replaced by `refusal()`, without that flag.
 */
function stop(code: BudgetCode): GraphQLError {
  return new GraphQLError('Execution budget spent', { extensions: { code, CRITICAL_ERROR: true } });
}

/**
 * Thrown from a resolver once the request's signal aborted. This replaces yoga's `useExecutionCancellation` for
 * queries and mutations: that passes the signal to the executor, which then races it against every object whose
 * fields are promises (all of them, once an operation is sliced), and each race holds its object until the signal
 * settles; a large operation then kept tens of megabytes alive through every young-generation collection.
 */
function cancelled(): GraphQLError {
  return new GraphQLError('The request was cancelled', { extensions: { code: 'REQUEST_CANCELLED', CRITICAL_ERROR: true } });
}

/** The request's signal, which yoga puts in the context of an HTTP operation. */
export const requestSignal = (ctx: unknown): AbortSignal | undefined => (ctx as { request?: Request }).request?.signal;

interface FieldShape {
  composite: boolean;
}

/** Fields resolved between two looks at the clock: few enough that a turn is about a slice, not more. */
const checkEvery = 32;

/** The meters of running operations, by their context object. */
const meters = new WeakMap<object, ExecutionMeter>();
/**
 * Fields already wrapped. Per field, not per schema: a plugin that replaces the schema (yoga's @defer/@stream adds
 * its directives) makes a new schema over the same type and field objects, and wrapping those again counted each
 * object twice.
 */
const metered = new WeakSet<object>();
/** Schemas whose fields are all in `metered`. */
const meteredSchemas = new WeakSet<GraphQLSchema>();

/** A field's resolution, charged to its operation's meter (closures only for values that are promises). */
function resolveMetered(
  meter: ExecutionMeter,
  shape: FieldShape,
  resolve: GraphQLFieldResolver<unknown, unknown>,
  source: unknown,
  args: Record<string, unknown>,
  context: unknown,
  info: GraphQLResolveInfo,
): unknown {
  meter.enter();
  const value = resolve(source, args, context, info);
  if (value instanceof Promise) {
    return value.then((v: unknown) => {
      meter.charge(v, shape, info.path.key);
      return v;
    });
  }
  meter.charge(value, shape, info.path.key);
  return value;
}

/**
 * Wraps every field's resolver once per schema: it reads the operation's meter
 * from its context, so one schema serves gateways with different budgets, and
 * an operation without a meter (none registered) runs as before.
 */
function meterSchema(schema: GraphQLSchema): void {
  // Every operation asks; a schema seen before has every field wrapped already (a walk over it cost each operation
  // about as much as a small query's execution).
  if (meteredSchemas.has(schema)) return;
  meteredSchemas.add(schema);
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      if (metered.has(field)) continue;
      metered.add(field);
      const resolve: GraphQLFieldResolver<unknown, unknown> = field.resolve ?? defaultFieldResolver;
      const shape: FieldShape = { composite: isCompositeType(getNamedType(field.type)) };
      field.resolve = (source, args, context, info) => {
        const meter = context && meters.get(context as object);
        if (!meter) return resolve(source, args, context, info);
        if (meter.mustWait()) return meter.later(() => resolveMetered(meter, shape, resolve, source, args, context, info));
        return resolveMetered(meter, shape, resolve, source, args, context, info);
      };
    }
  }
}

/**
 * The execution budget (docs/security.md): counts objects and response bytes
 * as fields resolve, and stops the operation with EXECUTION_BUDGET_EXCEEDED or
 * RESPONSE_TOO_LARGE as soon as either passes its limit, so no response past
 * the limit is ever built. For subscriptions, each event has the whole budget.
 */
/** The operation's result, or, once its budget was spent, the refusal in place of any data. */
function stopped(meter: ExecutionMeter, ctx: Context, result: ExecutionResult): ExecutionResult {
  if (!meter.exceeded) return result;
  ctx.logger?.warn({ code: meter.exceeded, objects: meter.objects, bytes: meter.bytes }, 'operation stopped: execution budget');
  return { errors: [meter.refusal()] };
}

/**
 * The execution budget (docs/security.md): counts objects and response bytes
 * as fields resolve, and stops the operation with EXECUTION_BUDGET_EXCEEDED or
 * RESPONSE_TOO_LARGE as soon as either passes its limit, so no response past
 * the limit is ever built. Subscriptions' events are executed by the fan-out,
 * outside envelop: `budgetedExecute` gives each of those executions the whole budget.
 */
export function useExecutionBudget(budget: Partial<ExecutionBudget> = {}): Plugin<Context> {
  const limits = { ...defaultExecutionBudget, ...budget };
  return {
    onSchemaChange({ schema }) {
      meterSchema(schema);
    },
    onExecute({ args }) {
      meterSchema(args.schema);
      const meter = new ExecutionMeter(limits, requestSignal(args.contextValue));
      meters.set(args.contextValue, meter);
      return {
        onExecuteDone({ result, setResult }) {
          meters.delete(args.contextValue);
          if (!(Symbol.asyncIterator in result)) setResult(stopped(meter, args.contextValue, result));
        },
      };
    },
    onSubscribe({ args }) {
      meterSchema(args.schema);
      const meter = new ExecutionMeter(limits);
      meters.set(args.contextValue, meter);
      return {
        onSubscribeResult() {
          return {
            onNext({ result, setResult }) {
              setResult(stopped(meter, args.contextValue, result));
              meter.reset();
            },
            onEnd() {
              meters.delete(args.contextValue);
            },
          };
        },
      };
    },
  };
}

/** graphql's `execute` under the execution budget, for executions outside envelop (a subscription group's event). */
export function budgetedExecute(
  budget: Partial<ExecutionBudget> = {},
): (args: ExecutionArgs) => ExecutionResult | Promise<ExecutionResult> {
  const limits = { ...defaultExecutionBudget, ...budget };
  return (args) => {
    meterSchema(args.schema);
    const ctx = args.contextValue as Context;
    const meter = new ExecutionMeter(limits);
    meters.set(ctx, meter);
    const done = (result: ExecutionResult) => {
      meters.delete(ctx);
      return stopped(meter, ctx, result);
    };
    const result = execute(args);
    return result instanceof Promise ? result.then(done) : done(result);
  };
}
