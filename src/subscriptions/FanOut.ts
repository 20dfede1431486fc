import { createHash } from 'node:crypto';
import {
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  execute,
  type FieldNode,
  type FragmentDefinitionNode,
  GraphQLError,
  type GraphQLNamedType,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  getNamedType,
  isCompositeType,
  isLeafType,
  Kind,
  type OperationDefinitionNode,
  print,
  type SelectionSetNode,
} from 'graphql';
import type { Logger } from 'pino';
import type { Authorizer } from '../auth/Authorizer.js';
import { type Caller, identityKey } from '../auth/Caller.js';
import { forbidden } from '../auth/guards.js';
import { type KindName, type KubeObject, kinds, objectKey } from '../kube/kinds.js';
import type { ReflectorEvent } from '../kube/Reflector.js';
import type { KindCache, ResourceCache } from '../kube/ResourceCache.js';
import { compareVersions, cursorOf, parseSince } from '../kube/StreamPosition.js';
import type { SubscriptionLimits } from './limits.js';
import { type Delivery, type StreamEvent, SubscriberQueue } from './SubscriberQueue.js';

/**
 * Object types whose fields are read from the streamed object itself, never
 * from other objects (so never through the caller's rights). A selection that
 * reaches only these and leaf fields renders the same for every caller who may
 * watch the stream.
 */
const embeddedTypes = new Set([
  'ResourceParam',
  'SecretRef',
  'Label',
  'Condition',
  'PipelineRunParam',
  'PipelineRunParamProperty',
]);

/** Where a member's bytes go: a WebSocket (or another transport carrying several operations). */
export interface PushSink {
  /**
   * Writes one tick's results, in order: each is an operation id and its
   * payload's bytes (`{"data":…}`), framed as the transport's message. One
   * write for all of them.
   */
  write(messages: readonly (readonly [id: string, payload: Buffer])[]): void;
  /** Bytes the client has not read yet; nothing more is written past `highWaterBytes` until `onDrain`. */
  readonly unsent: number;
  onDrain(fn: () => void): void;
  readonly closed: boolean;
}

/**
 * Bytes a socket may hold unsent before its subscribers' events wait in their
 * own queues instead: enough for a tick of 100 subscriptions' events, small
 * enough that a client that stops reading holds little here.
 */
export const highWaterBytes = 256 * 1024;

/**
 * The members of one socket that have something to send. Written once per
 * tick, in one write; a client that does not read stops its socket's writes,
 * and its members' events wait in their own bounded queues.
 */
export class PushOutlet {
  private readonly dirty = new Set<Member>();
  private scheduled = false;
  private draining = false;

  constructor(readonly sink: PushSink) {}

  wake(member: Member): void {
    this.dirty.add(member);
    if (this.scheduled || this.draining) return;
    this.scheduled = true;
    setImmediate(this.flush);
  }

  forget(member: Member): void {
    this.dirty.delete(member);
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const sink = this.sink;
    if (sink.closed) {
      this.dirty.clear();
      return;
    }
    let room = highWaterBytes - sink.unsent;
    const messages: (readonly [string, Buffer])[] = [];
    for (const member of this.dirty) {
      if (room <= 0) break;
      for (let d = member.queue.take(); d; d = room > 0 ? member.queue.take() : undefined) {
        d.bytes ??= Buffer.from(d.json as string);
        messages.push([member.id, d.bytes]);
        room -= d.bytes.length + member.id.length + 40;
      }
      if (!member.queue.ready) this.dirty.delete(member);
    }
    if (messages.length) sink.write(messages);
    if (this.dirty.size === 0) return;
    if (room <= 0) {
      this.draining = true;
      sink.onDrain(() => {
        this.draining = false;
        this.scheduled = true;
        setImmediate(this.flush);
      });
    } else {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  };
}

/** What the transport asks of a member's result stream: `stringify` gives yoga the bytes as they are. */
interface Serialized extends ExecutionResult {
  stringify(result: ExecutionResult): string;
}
const json = Symbol('json');
function stringifySerialized(result: ExecutionResult): string {
  return (result as unknown as { [json]: string })[json];
}

/**
 * One subscriber: its group, where its bytes go, its queue and its place in
 * the stream. No context, no iterator chain of its own: the group executes.
 * It is also the operation's result stream. Over a push outlet (WebSocket,
 * graphql-sse stream) it yields nothing, and ends with an error result or
 * done; over a plain SSE or multipart response it yields each delivery, whose
 * bytes yoga writes without serializing again.
 */
export class Member implements AsyncGenerator<ExecutionResult, undefined> {
  readonly queue: SubscriberQueue;
  ended = false;
  /** Set when the member ends: the error to yield last, if any. */
  private final: { error?: GraphQLError } | undefined;
  private waiting: (() => void) | undefined;

  constructor(
    private readonly hub: FanOut,
    readonly group: Group,
    readonly outlet: PushOutlet | undefined,
    /** The operation id on its outlet. */
    readonly id: string,
    readonly caller: Caller,
    /** The stream event count when it joined: it gets only later events live. */
    readonly joinSeq: number,
    /** From `since` (a version): live events at or before it were replayed or are not its. */
    readonly after: string | undefined,
    readonly namespace: string | undefined,
    readonly closeConnection: ((code: number, reason: string) => void) | undefined,
    limits: SubscriptionLimits,
  ) {
    this.queue = new SubscriberQueue(limits, (event) => hub.render(this, event));
  }

  /** It has deliveries ready. */
  wake(): void {
    if (this.ended) return;
    if (this.outlet) this.outlet.wake(this);
    else this.resume();
  }

  /** Ends it: out of its group, its queue dropped; `error` is its last result. */
  end(error?: GraphQLError): void {
    if (this.ended) return;
    this.ended = true;
    this.queue.clear();
    this.outlet?.forget(this);
    this.hub.leave(this);
    this.final = error ? { error } : {};
    this.resume();
  }

  private resume(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
  }

  next(): Promise<IteratorResult<ExecutionResult, undefined>> {
    if (!this.outlet) {
      const d = this.queue.take();
      if (d) {
        const value = { stringify: stringifySerialized, [json]: d.json } as unknown as Serialized;
        return Promise.resolve({ done: false, value });
      }
    }
    if (this.final) {
      const { error } = this.final;
      if (error) {
        this.final = {};
        return Promise.resolve({ done: false, value: { errors: [error] } });
      }
      return Promise.resolve({ done: true, value: undefined });
    }
    return new Promise((resolve) => {
      this.waiting = () => resolve(this.next());
    });
  }

  async return(): Promise<IteratorResult<ExecutionResult, undefined>> {
    this.end();
    this.final = {};
    this.resume();
    return { done: true, value: undefined };
  }

  async throw(): Promise<IteratorResult<ExecutionResult, undefined>> {
    return this.return();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }
}

/** Subscribers whose payloads are identical: same kind, document, variables and visibility. */
export class Group {
  readonly members = new Set<Member>();
  /**
   * Per object, a digest of this group's last result and the stream event
   * count it was made at, so a MODIFIED whose result has not changed is not
   * sent; absent when the selection shows the event's version or cursor (then
   * every result differs).
   */
  readonly last: Map<string, { digest: string; seq: number }> | undefined;

  constructor(
    readonly key: string,
    readonly kind: KindName,
    /** The subscription field, e.g. `pipelineResourceEvents` (the metrics' label). */
    readonly field: string,
    readonly document: DocumentNode,
    readonly operationName: string | undefined,
    readonly variables: Record<string, unknown>,
    /** Whose rights nested reads run with (any member's, when the selection reads only the object). */
    readonly caller: Caller,
    readonly matches: (obj: KubeObject) => boolean,
    /** `includeUnchanged: true`: every MODIFIED is sent. */
    readonly everyEvent: boolean,
    tracksChanges: boolean,
  ) {
    this.last = tracksChanges && !everyEvent ? new Map() : undefined;
  }
}

interface KindStream {
  cache: KindCache;
  /** Events received so far: each event's `seq`. */
  seq: number;
  groups: Map<string, Group>;
  off: () => void;
  /** Events waiting while an earlier one's executions run (they go out in order). */
  backlog: { event: ReflectorEvent; seq: number }[];
  busy: boolean;
}

export interface FanOutOptions {
  schema: GraphQLSchema;
  cache: ResourceCache;
  authorizer: Authorizer;
  logger: Logger;
  limits: SubscriptionLimits;
  /** A context to execute a group's selection with, as `caller`. */
  contextFor: (caller: Caller) => object;
  /**
   * Executes a group's selection for one event: graphql's `execute` unless the server wraps it (with the
   * execution budget, src/plugins/useExecutionBudget.ts: a group's executions run outside envelop's plugins).
   */
  execute?: (args: ExecutionArgs) => ExecutionResult | Promise<ExecutionResult>;
  /** Events written to push outlets, per subscription field (plain SSE responses are counted as yoga yields them). */
  onDelivered?: (field: string, count: number) => void;
}

export interface JoinOptions {
  kind: KindName;
  namespace: string | undefined;
  since: string | undefined;
  /** The subscription's filters (its arguments). */
  matches: (obj: KubeObject) => boolean;
  everyEvent: boolean;
  caller: Caller;
  info: GraphQLResolveInfo;
  outlet?: { to: PushOutlet; id: string };
  closeConnection?: (code: number, reason: string) => void;
}

/**
 * The subscription fan-out: subscribers grouped by what they would receive;
 * per event, each group executes its selection once and serializes once, and
 * every member gets those bytes framed with its own id (docs/subscriptions.md).
 */
export class FanOut {
  private readonly streams = new Map<KindName, KindStream>();
  private readonly documentKeys = new WeakMap<
    OperationDefinitionNode,
    { hash: string; tracksChanges: boolean; selfContained: boolean }
  >();
  private readonly identities = new WeakMap<Caller, string>();
  private recheck: NodeJS.Timeout | undefined;
  private members = 0;

  constructor(private readonly options: FanOutOptions) {}

  /**
   * Adds a subscriber (its right to watch already checked): the events it
   * missed since `since` (or RESYNC and the current state), then live ones.
   * Synchronous, so no live event slips between the replay and the stream.
   */
  join(o: JoinOptions): Member {
    const stream = this.stream(o.kind);
    const key = this.groupKey(o);
    let group = stream.groups.get(key.group);
    if (!group) {
      group = new Group(
        key.group,
        o.kind,
        o.info.fieldName,
        {
          kind: Kind.DOCUMENT,
          definitions: [o.info.operation, ...Object.values(o.info.fragments as Record<string, FragmentDefinitionNode>)],
        },
        o.info.operation.name?.value,
        o.info.variableValues,
        o.caller,
        o.matches,
        o.everyEvent,
        key.tracksChanges,
      );
      stream.groups.set(key.group, group);
    }
    const since = o.since ? parseSince(o.since) : undefined;
    // A subscriber resuming from another replica may be ahead of this one: nothing twice. (A relist
    // cursor was found in this replica's log, or answered with RESYNC: nothing to skip then.)
    const after = since && since.kind !== 'relist' ? since.version : undefined;
    const member = new Member(
      this,
      group,
      o.outlet?.to,
      o.outlet?.id ?? '',
      o.caller,
      stream.seq,
      after,
      o.namespace,
      o.closeConnection,
      this.options.limits,
    );
    if (o.since)
      for (const e of this.replay(stream.cache, group, o.since, o.namespace)) member.queue.preload(this.render(member, e));
    group.members.add(member);
    this.members++;
    this.uncount.set(member, stream.cache.countSubscriber());
    this.recheck ??= setInterval(() => this.recheckAccess(), this.options.limits.accessRecheckMs).unref();
    if (member.queue.ready) member.wake();
    return member;
  }

  private readonly uncount = new WeakMap<Member, () => void>();

  /** Called by a member that ended. */
  leave(member: Member): void {
    const group = member.group;
    if (!group.members.delete(member)) return;
    this.members--;
    this.uncount.get(member)?.();
    const stream = this.streams.get(group.kind);
    // Only its own group: a group of the same key may have been made since this one's stream closed.
    if (group.members.size === 0 && stream?.groups.get(group.key) === group) {
      stream.groups.delete(group.key);
      if (stream.groups.size === 0 && !stream.busy) this.close(stream);
    }
    if (this.members === 0 && this.recheck) {
      clearInterval(this.recheck);
      this.recheck = undefined;
    }
  }

  /** Live subscribers, all kinds. */
  get size(): number {
    return this.members;
  }

  /** Groups, all kinds. */
  get groups(): number {
    let n = 0;
    for (const s of this.streams.values()) n += s.groups.size;
    return n;
  }

  private stream(kind: KindName): KindStream {
    let stream = this.streams.get(kind);
    if (!stream) {
      const cache = this.options.cache.kind(kind);
      const s: KindStream = { cache, seq: 0, groups: new Map(), off: () => {}, backlog: [], busy: false };
      s.off = cache.subscribe((event) => this.onEvent(s, event));
      this.streams.set(kind, s);
      stream = s;
    }
    return stream;
  }

  private groupKey(o: JoinOptions): { group: string; tracksChanges: boolean } {
    const operation = o.info.operation;
    let doc = this.documentKeys.get(operation);
    if (!doc) {
      const text = [operation, ...Object.values(o.info.fragments)].map((d) => print(d)).join('\n');
      doc = {
        hash: createHash('sha256').update(text).digest('base64'),
        tracksChanges: !showsPosition(o.info.fieldNodes[0]?.selectionSet, o.info.fragments),
        selfContained: readsOnlyTheObject(o.info),
      };
      this.documentKeys.set(operation, doc);
    }
    return {
      group: [o.kind, doc.hash, stableJson(o.info.variableValues), doc.selfContained ? '' : this.identity(o.caller)].join('\n'),
      tracksChanges: doc.tracksChanges,
    };
  }

  private identity(caller: Caller): string {
    let key = this.identities.get(caller);
    if (key === undefined) {
      key = identityKey(caller);
      this.identities.set(caller, key);
    }
    return key;
  }

  /** The events a subscriber missed since `since`, or RESYNC and the current state, filtered. */
  private replay(cache: KindCache, group: Group, since: string, namespace: string | undefined): StreamEvent[] {
    const missed = cache.log.since(since);
    if (missed) return missed.filter((e) => group.matches(e.object));
    cache.resyncs++;
    const now = cache.resourceVersion ?? '';
    const snapshot: StreamEvent[] = [{ type: 'RESYNC', object: null, resourceVersion: now, cursor: null }];
    for (const obj of cache.list(namespace)) {
      if (group.matches(obj))
        snapshot.push({ type: 'ADDED', object: obj, resourceVersion: obj.metadata.resourceVersion ?? now, cursor: null });
    }
    // Only once the whole snapshot is in is the view complete at `now`.
    (snapshot[snapshot.length - 1] as StreamEvent).cursor = now ? cursorOf({ version: now }) : null;
    return snapshot;
  }

  private onEvent(stream: KindStream, event: ReflectorEvent): void {
    stream.backlog.push({ event, seq: ++stream.seq });
    if (!stream.busy) this.drain(stream);
  }

  /** Sends the backlog in order; an event whose executions are asynchronous holds back those after it. */
  private drain(stream: KindStream): void {
    while (stream.backlog.length) {
      const { event, seq } = stream.backlog.shift() as { event: ReflectorEvent; seq: number };
      const waiting = this.distribute(stream, event, seq);
      if (waiting) {
        stream.busy = true;
        waiting.then(
          () => {
            stream.busy = false;
            this.drain(stream);
          },
          (err: unknown) => {
            this.options.logger.error({ err }, 'subscription fan-out failed');
            stream.busy = false;
            this.drain(stream);
          },
        );
        return;
      }
    }
    // The last group left while an event was executing.
    if (stream.groups.size === 0) this.close(stream);
  }

  private close(stream: KindStream): void {
    stream.off();
    for (const [kind, s] of this.streams) if (s === stream) this.streams.delete(kind);
  }

  private distribute(stream: KindStream, event: ReflectorEvent, seq: number): Promise<void> | undefined {
    const rendered: [Group, string | Promise<string>][] = [];
    for (const group of stream.groups.values()) {
      if (!group.matches(event.object)) continue;
      // Only members that joined before it get it live.
      let anyone = false;
      for (const m of group.members) {
        if (m.joinSeq < seq) {
          anyone = true;
          break;
        }
      }
      if (!anyone) continue;
      rendered.push([group, this.execute(group, event)]);
    }
    if (rendered.length === 0) return undefined;
    if (rendered.every(([, r]) => typeof r === 'string')) {
      for (const [group, r] of rendered) this.deliver(group, event, seq, r as string);
      return undefined;
    }
    const all = rendered;
    return Promise.all(all.map(([, r]) => r)).then((jsons) => {
      for (const [i, [group]] of all.entries()) this.deliver(group, event, seq, jsons[i] as string);
    });
  }

  private deliver(group: Group, event: ReflectorEvent, seq: number, json: string): void {
    let unchangedSince: number | undefined;
    if (group.last) {
      const key = objectKey(event.object);
      if (event.type === 'DELETED') group.last.delete(key);
      else {
        const digest = createHash('sha1').update(json).digest('base64');
        const last = group.last.get(key);
        if (event.type === 'MODIFIED' && last?.digest === digest) unchangedSince = last.seq;
        group.last.set(key, { digest, seq });
      }
    }
    const delivery: Delivery = { event, json };
    let count = 0;
    for (const m of group.members) {
      if (m.joinSeq >= seq) continue;
      if (m.after !== undefined && (compareVersions(event.position.version, m.after) ?? 1) <= 0) continue;
      // Unchanged for a member that had the previous result live.
      if (unchangedSince !== undefined && m.joinSeq < unchangedSince) continue;
      if (m.queue.push(delivery) === 'overflow') {
        m.end(slowConsumer());
        continue;
      }
      m.wake();
      if (m.outlet) count++;
    }
    if (count) this.options.onDelivered?.(group.field, count);
  }

  /** An event as one member's group renders it; a member whose bytes come later is woken then. */
  render(member: Member, event: StreamEvent): Delivery {
    const d: Delivery = { event, json: undefined };
    const r = this.execute(member.group, event);
    if (typeof r === 'string') d.json = r;
    else
      void r.then((json) => {
        d.json = json;
        member.wake();
      });
    return d;
  }

  /** Executes a group's selection for one event and serializes the result: once per group and event. */
  private execute(group: Group, event: StreamEvent): string | Promise<string> {
    const serialize = (result: ExecutionResult) => JSON.stringify(this.masked(result));
    const failed = (err: unknown) => {
      this.options.logger.error({ err }, 'subscription event failed');
      return JSON.stringify({ errors: [unexpected()] });
    };
    try {
      const result = (this.options.execute ?? execute)({
        schema: this.options.schema,
        document: group.document,
        rootValue: event,
        contextValue: this.options.contextFor(group.caller),
        variableValues: group.variables,
        operationName: group.operationName,
      });
      return 'then' in result ? result.then(serialize, failed) : serialize(result);
    } catch (err) {
      return failed(err);
    }
  }

  /** As yoga's maskedErrors: an error without a stable code becomes "Unexpected error.", and is logged. */
  private masked(result: ExecutionResult): ExecutionResult {
    if (!result.errors?.length) return result;
    return {
      ...result,
      errors: result.errors.map((e) => {
        const original = e.originalError;
        if (!original || (original instanceof GraphQLError && original.extensions.code !== undefined)) return e;
        this.options.logger.error({ err: original, path: e.path }, 'unexpected error in a subscription event');
        return new GraphQLError('Unexpected error.', {
          nodes: e.nodes,
          path: e.path,
          extensions: { code: 'INTERNAL_SERVER_ERROR' },
        });
      }),
    };
  }

  /**
   * Each member's right to watch, again (one review per caller, kind and
   * namespace per round, answered mostly from the review cache): a member
   * that lost it ends with FORBIDDEN, and its WebSocket is closed with 4403;
   * its group goes on for the others.
   */
  private recheckAccess(): void {
    const reviews = new Map<string, Promise<boolean>>();
    for (const [kind, stream] of this.streams) {
      const spec = kinds[kind];
      for (const group of stream.groups.values()) {
        for (const m of group.members) {
          const key = `${this.identity(m.caller)}\n${kind}\n${m.namespace ?? ''}`;
          let allowed = reviews.get(key);
          if (!allowed) {
            allowed = this.options.authorizer.allowed(m.caller, 'watch', spec, m.namespace).catch(() => true);
            reviews.set(key, allowed);
          }
          void allowed.then((ok) => {
            if (ok || m.ended) return;
            m.end(forbidden('watch', spec, m.namespace));
            m.closeConnection?.(4403, 'Forbidden');
          });
        }
      }
    }
  }
}

function slowConsumer(): GraphQLError {
  return new GraphQLError('Subscriber too slow: events were arriving faster than it read them. Resubscribe with `since`.', {
    extensions: { code: 'SLOW_CONSUMER' },
  });
}

function unexpected(): GraphQLError {
  return new GraphQLError('Unexpected error.', { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
}

/** JSON with object keys sorted, so equal variables give equal keys whatever their order. */
export function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
}

/** Fields of a selection set, through fragments. */
function* fieldsOf(
  set: SelectionSetNode | undefined,
  fragments: Record<string, FragmentDefinitionNode>,
  seen = new Set<string>(),
): Generator<FieldNode> {
  for (const s of set?.selections ?? []) {
    if (s.kind === Kind.FIELD) yield s;
    else if (s.kind === Kind.INLINE_FRAGMENT) yield* fieldsOf(s.selectionSet, fragments, seen);
    else if (!seen.has(s.name.value)) {
      seen.add(s.name.value);
      yield* fieldsOf(fragments[s.name.value]?.selectionSet, fragments, seen);
    }
  }
}

/** Whether the event's own selection shows `resourceVersion` or `cursor` (then no two results are equal). */
function showsPosition(set: SelectionSetNode | undefined, fragments: Record<string, FragmentDefinitionNode>): boolean {
  for (const f of fieldsOf(set, fragments)) if (f.name.value === 'resourceVersion' || f.name.value === 'cursor') return true;
  return false;
}

/**
 * Whether the selection under the event reads only the streamed object's own
 * fields (leaves, and the embedded value types above): then it renders alike
 * for everyone who may watch the stream, whoever they are. A field that reads
 * other objects (bindings, pipelines, runs) is answered with the caller's
 * rights, so such a selection is grouped per caller.
 */
function readsOnlyTheObject(info: GraphQLResolveInfo): boolean {
  const eventType = getNamedType(info.returnType);
  const walk = (set: SelectionSetNode | undefined, parent: GraphQLNamedType): boolean => {
    if (!isCompositeType(parent)) return false;
    for (const f of fieldsOf(set, info.fragments)) {
      if (f.name.value === '__typename') continue;
      if (!('getFields' in parent)) return false;
      const def = parent.getFields()[f.name.value];
      if (!def) return false;
      const type = getNamedType(def.type);
      if (isLeafType(type)) continue;
      const embedded = parent === eventType && f.name.value === 'object' ? true : embeddedTypes.has(type.name);
      if (!embedded || !walk(f.selectionSet, type)) return false;
    }
    return true;
  };
  return walk(info.fieldNodes[0]?.selectionSet, eventType);
}
