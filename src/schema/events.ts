import { GraphQLError } from 'graphql';
import { forbidden } from '../auth/guards.js';
import type { Context } from '../context.js';
import { type KindName, type KubeObject, kinds } from '../kube/kinds.js';
import type { ReflectorEvent } from '../kube/Reflector.js';
import { str } from '../kube/read.js';
import { compareVersions, cursorOf, parseSince } from '../kube/StreamPosition.js';
import { type StreamEvent, SubscriberQueue } from '../subscriptions/SubscriberQueue.js';
import { builder } from './builder.js';
import { PipelineRef, PipelineResourceRef, PipelineRunRef, ResourceBindingRef } from './refs.js';
import { bindingPipelineName } from './resourceBinding.js';

const EventType = builder.enumType('ResourceEventType', {
  description: 'What happened to the object.',
  values: {
    ADDED: { description: 'Created, or first seen (and, after RESYNC, each object as it is now).' },
    MODIFIED: { description: 'Changed; `object` is its new state.' },
    DELETED: { description: 'Deleted; `object` is its last state.' },
    RESYNC: {
      description:
        'The events since `since` could not be replayed; ADDED events with the current state of every matching object follow. `object` is null.',
    },
  } as const,
});

const sinceArg = {
  required: false,
  description:
    'The last `cursor` the subscriber was given: exactly the events after it are replayed first, or RESYNC and the current state when they are no longer kept. A bare resourceVersion is also accepted (it may replay some events again, never skip one).',
} as const;

/** One event type per kind, e.g. `ResourceEvent { type resourceVersion object: PipelineResource }`. */
function eventType(name: string, kind: string, ref: typeof PipelineResourceRef | typeof ResourceBindingRef) {
  return builder.objectRef<StreamEvent>(name).implement({
    description: `A change to a ${kind}.`,
    fields: (t) => ({
      type: t.field({ type: EventType, description: 'What happened.', resolve: (e) => e.type }),
      resourceVersion: t.exposeString('resourceVersion', {
        description:
          'The object’s metadata.resourceVersion: after the change, or for DELETED the last one known (the deletion’s own when the watch saw it). For RESYNC, the version the state that follows is complete at.',
      }),
      cursor: t.exposeString('cursor', {
        nullable: true,
        description:
          'Opaque: this event’s place in the stream, unique to it. Pass the last one received as `since` to get exactly the events after it. Inside a RESYNC snapshot (the RESYNC and the ADDED events after it) only the last event has one, since only there is the state complete; a resume from inside it uses the cursor before it.',
      }),
      object: t.field({
        type: ref,
        nullable: true,
        description: 'The object after the change (before it, for DELETED); null for RESYNC.',
        // biome-ignore lint/suspicious/noExplicitAny: the object's type is the ref's, which Pothos cannot infer through the union
        resolve: (e) => (e.object as any) ?? null,
      }),
    }),
  });
}

interface StreamOptions {
  kind: KindName;
  namespace: string | null | undefined;
  since: string | null | undefined;
  matches: (obj: KubeObject) => boolean;
}

/**
 * A subscriber's stream of one kind, from the shared reflectors (one watch per
 * kind, however many subscribers): the events it missed since `since` (or
 * RESYNC and the current state), then live events, in resourceVersion order.
 */
async function stream(ctx: Context, options: StreamOptions): Promise<SubscriberQueue> {
  const spec = kinds[options.kind];
  const namespace = options.namespace ?? undefined;
  const mayWatch = () => ctx.authorizer.allowed(ctx.caller, 'watch', spec, namespace);
  // Namespace-scoped users name their namespace; events from others are never sent.
  if (!(await mayWatch())) throw forbidden('watch', spec, namespace);
  if (!ctx.cache.has(options.kind)) {
    throw new GraphQLError(`${options.kind} is not cached by this gateway (see --cache-kinds), so it cannot be streamed.`, {
      extensions: { code: 'UNAVAILABLE' },
    });
  }
  const cache = ctx.cache.kind(options.kind);
  const matches = (obj: KubeObject) => (!namespace || obj.metadata.namespace === namespace) && options.matches(obj);

  const cleanup: (() => void)[] = [];
  const queue = new SubscriberQueue(() => {
    for (const fn of cleanup) fn();
  }, ctx.subscriptions);
  // Everything below up to `subscribe` runs in one tick: no live event can slip between replay and stream.
  const since = options.since ? parseSince(options.since) : undefined;
  if (options.since) {
    const missed = cache.log.since(options.since);
    if (missed) {
      for (const e of missed) if (matches(e.object)) queue.preload(e);
    } else {
      cache.resyncs++;
      const now = cache.resourceVersion ?? '';
      const snapshot: StreamEvent[] = [{ type: 'RESYNC', object: null, resourceVersion: now, cursor: null }];
      for (const obj of cache.list(namespace)) {
        if (matches(obj))
          snapshot.push({ type: 'ADDED', object: obj, resourceVersion: obj.metadata.resourceVersion ?? now, cursor: null });
      }
      // Only once the whole snapshot is in is the view complete at `now`.
      (snapshot[snapshot.length - 1] as StreamEvent).cursor = now ? cursorOf({ version: now }) : null;
      for (const e of snapshot) queue.preload(e);
    }
  }
  // A subscriber resuming from another replica may be ahead of this one: nothing twice. (A relist
  // cursor was found in this replica's log, or answered with RESYNC: nothing to skip then.)
  const after = since && since.kind !== 'relist' ? since.version : undefined;
  cleanup.push(
    cache.subscribe((event: ReflectorEvent) => {
      if (!matches(event.object) || (after && (compareVersions(event.position.version, after) ?? 1) <= 0)) return;
      queue.push(event);
    }),
  );
  const recheck = setInterval(() => {
    mayWatch().then(
      (ok) => {
        if (ok) return;
        queue.fail(forbidden('watch', spec, namespace));
        ctx.closeConnection?.(4403, 'Forbidden');
      },
      () => {},
    );
  }, ctx.subscriptions.accessRecheckMs);
  recheck.unref();
  cleanup.push(() => clearInterval(recheck));
  return queue;
}

const ResourceEventRef = eventType('ResourceEvent', 'PipelineResource', PipelineResourceRef);
const ResourceBindingEventRef = eventType('ResourceBindingEvent', 'ResourceBinding', ResourceBindingRef);
const PipelineEventRef = eventType('PipelineEvent', 'Pipeline', PipelineRef);
const PipelineRunEventRef = eventType('PipelineRunEvent', 'PipelineRun', PipelineRunRef);

const nameArg = { required: false, description: 'Only the object of this name.' } as const;
const namespaceArg = {
  required: false,
  description: 'Only this namespace; all namespaces needs the right to watch them all.',
} as const;
const byName = (name: string | null | undefined) => (o: KubeObject) => !name || o.metadata.name === name;

builder.subscriptionFields((t) => ({
  pipelineResourceEvents: t.field({
    type: ResourceEventRef,
    description: 'Changes to PipelineResources, optionally filtered.',
    args: {
      namespace: t.arg.string(namespaceArg),
      name: t.arg.string(nameArg),
      type: t.arg.string({ required: false, description: 'Only resources of this type.' }),
      since: t.arg.string(sinceArg),
    },
    subscribe: (_root, args, ctx) =>
      stream(ctx, {
        kind: 'PipelineResource',
        namespace: args.namespace,
        since: args.since,
        matches: (o) => byName(args.name)(o) && (!args.type || str(o, 'spec', 'type') === args.type),
      }),
    resolve: (event) => event,
  }),
  resourceBindingEvents: t.field({
    type: ResourceBindingEventRef,
    description: 'Changes to ResourceBindings, optionally filtered.',
    args: {
      namespace: t.arg.string(namespaceArg),
      name: t.arg.string(nameArg),
      pipeline: t.arg.string({ required: false, description: 'Only the bindings of this pipeline.' }),
      since: t.arg.string(sinceArg),
    },
    subscribe: (_root, args, ctx) =>
      stream(ctx, {
        kind: 'ResourceBinding',
        namespace: args.namespace,
        since: args.since,
        matches: (o) => byName(args.name)(o) && (!args.pipeline || bindingPipelineName(o) === args.pipeline),
      }),
    resolve: (event) => event,
  }),
  pipelineEvents: t.field({
    type: PipelineEventRef,
    description: 'Changes to Tekton Pipelines, optionally filtered.',
    args: { namespace: t.arg.string(namespaceArg), name: t.arg.string(nameArg), since: t.arg.string(sinceArg) },
    subscribe: (_root, args, ctx) =>
      stream(ctx, { kind: 'Pipeline', namespace: args.namespace, since: args.since, matches: byName(args.name) }),
    resolve: (event) => event,
  }),
  pipelineRunEvents: t.field({
    type: PipelineRunEventRef,
    description: 'Changes to Tekton PipelineRuns (status and conditions as they progress), optionally filtered.',
    args: {
      namespace: t.arg.string(namespaceArg),
      name: t.arg.string(nameArg),
      pipeline: t.arg.string({ required: false, description: 'Only the runs of this pipeline.' }),
      since: t.arg.string(sinceArg),
    },
    subscribe: (_root, args, ctx) =>
      stream(ctx, {
        kind: 'PipelineRun',
        namespace: args.namespace,
        since: args.since,
        matches: (o) => byName(args.name)(o) && (!args.pipeline || str(o, 'spec', 'pipelineRef', 'name') === args.pipeline),
      }),
    resolve: (event) => event,
  }),
}));
