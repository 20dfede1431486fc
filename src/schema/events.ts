import { GraphQLError, type GraphQLResolveInfo } from 'graphql';
import { forbidden } from '../auth/guards.js';
import type { Context } from '../context.js';
import { type KindName, type KubeObject, kinds } from '../kube/kinds.js';
import { str } from '../kube/read.js';
import { bindingPipelineName } from '../resources/bindings.js';
import type { Member } from '../subscriptions/FanOut.js';
import type { StreamEvent } from '../subscriptions/SubscriberQueue.js';
import { builder } from './builder.js';
import { PipelineRef, PipelineResourceRef, PipelineRunRef, ResourceBindingRef } from './refs.js';

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
  includeUnchanged: boolean | null | undefined;
  matches: (obj: KubeObject) => boolean;
}

/**
 * A subscriber's stream of one kind, from the shared reflectors (one watch per
 * kind, however many subscribers), grouped with the subscribers who would
 * receive the same payloads (src/subscriptions/FanOut.ts): the events it
 * missed since `since` (or RESYNC and the current state), then live events,
 * in resourceVersion order.
 */
async function stream(ctx: Context, info: GraphQLResolveInfo, options: StreamOptions): Promise<AsyncIterable<StreamEvent>> {
  const spec = kinds[options.kind];
  const namespace = options.namespace ?? undefined;
  // Namespace-scoped users name their namespace; events from others are never sent.
  if (!(await ctx.authorizer.allowed(ctx.caller, 'watch', spec, namespace))) throw forbidden('watch', spec, namespace);
  if (!ctx.cache.has(options.kind)) {
    throw new GraphQLError(`${options.kind} is not cached by this gateway (see --cache-kinds), so it cannot be streamed.`, {
      extensions: { code: 'UNAVAILABLE' },
    });
  }
  const member: Member = ctx.fanOut.join({
    kind: options.kind,
    namespace,
    since: options.since ?? undefined,
    matches: (obj) => (!namespace || obj.metadata.namespace === namespace) && options.matches(obj),
    everyEvent: options.includeUnchanged === true,
    caller: ctx.caller,
    info,
    ...(ctx.outlet ? { outlet: ctx.outlet } : {}),
    ...(ctx.closeConnection ? { closeConnection: ctx.closeConnection } : {}),
  });
  // Its items are results, executed once per group: useSubscriptionFanOut makes this source stream the result stream.
  return member as unknown as AsyncIterable<StreamEvent>;
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
const includeUnchangedArg = {
  required: false,
  defaultValue: false,
  description:
    'Also send a MODIFIED event whose result (this selection, for that object) is the same as the one sent for the object before, e.g. a status-only change when the selection reads only the spec. By default it is left out.',
} as const;

builder.subscriptionFields((t) => ({
  pipelineResourceEvents: t.field({
    type: ResourceEventRef,
    description: 'Changes to PipelineResources, optionally filtered.',
    args: {
      namespace: t.arg.string(namespaceArg),
      name: t.arg.string(nameArg),
      type: t.arg.string({ required: false, description: 'Only resources of this type.' }),
      since: t.arg.string(sinceArg),
      includeUnchanged: t.arg.boolean(includeUnchangedArg),
    },
    subscribe: (_root, args, ctx, info) =>
      stream(ctx, info, {
        kind: 'PipelineResource',
        namespace: args.namespace,
        since: args.since,
        includeUnchanged: args.includeUnchanged,
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
      includeUnchanged: t.arg.boolean(includeUnchangedArg),
    },
    subscribe: (_root, args, ctx, info) =>
      stream(ctx, info, {
        kind: 'ResourceBinding',
        namespace: args.namespace,
        since: args.since,
        includeUnchanged: args.includeUnchanged,
        matches: (o) => byName(args.name)(o) && (!args.pipeline || bindingPipelineName(o) === args.pipeline),
      }),
    resolve: (event) => event,
  }),
  pipelineEvents: t.field({
    type: PipelineEventRef,
    description: 'Changes to Tekton Pipelines, optionally filtered.',
    args: {
      namespace: t.arg.string(namespaceArg),
      name: t.arg.string(nameArg),
      since: t.arg.string(sinceArg),
      includeUnchanged: t.arg.boolean(includeUnchangedArg),
    },
    subscribe: (_root, args, ctx, info) =>
      stream(ctx, info, {
        kind: 'Pipeline',
        namespace: args.namespace,
        since: args.since,
        includeUnchanged: args.includeUnchanged,
        matches: byName(args.name),
      }),
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
      includeUnchanged: t.arg.boolean(includeUnchangedArg),
    },
    subscribe: (_root, args, ctx, info) =>
      stream(ctx, info, {
        kind: 'PipelineRun',
        namespace: args.namespace,
        since: args.since,
        includeUnchanged: args.includeUnchanged,
        matches: (o) => byName(args.name)(o) && (!args.pipeline || str(o, 'spec', 'pipelineRef', 'name') === args.pipeline),
      }),
    resolve: (event) => event,
  }),
}));
