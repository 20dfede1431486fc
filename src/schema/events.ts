import { forbidden } from '../auth/guards.js';
import { kinds } from '../kube/kinds.js';
import type { ChangeType, ReflectorEvent } from '../kube/Reflector.js';
import type { PipelineResourceObject } from '../resources/PipelineResourceObject.js';
import { SubscriberQueue } from '../subscriptions/SubscriberQueue.js';
import { builder } from './builder.js';
import { PipelineResourceRef } from './refs.js';

const ResourceEventType = builder.enumType('ResourceEventType', {
  description: 'What happened to the object.',
  values: {
    ADDED: { description: 'Created, or first seen.' },
    MODIFIED: { description: 'Changed; `object` is its new state.' },
    DELETED: { description: 'Deleted; `object` is its last state.' },
    RESYNC: { description: 'Missed events could not be replayed; the current state follows.' },
  } as const,
});

const ResourceEventRef = builder.objectRef<ReflectorEvent>('ResourceEvent').implement({
  description: 'A change to a PipelineResource.',
  fields: (t) => ({
    type: t.field({ type: ResourceEventType, resolve: (e): ChangeType => e.type }),
    resourceVersion: t.exposeString('resourceVersion'),
    object: t.field({ type: PipelineResourceRef, resolve: (e) => e.object as PipelineResourceObject }),
  }),
});

builder.subscriptionFields((t) => ({
  pipelineResourceEvents: t.field({
    type: ResourceEventRef,
    description: 'Changes to PipelineResources from now on, optionally filtered.',
    args: {
      namespace: t.arg.string({ required: false }),
      name: t.arg.string({ required: false }),
      type: t.arg.string({ required: false }),
    },
    subscribe: async (_root, args, ctx) => {
      // Namespace-scoped users name their namespace; events from others are never sent.
      if (!(await ctx.authorizer.allowed(ctx.caller, 'watch', kinds.PipelineResource, args.namespace ?? undefined))) {
        throw forbidden('watch', kinds.PipelineResource, args.namespace ?? undefined);
      }
      const reflector = ctx.cache.reflector('PipelineResource');
      const unsubscribe: { fn?: () => void } = {};
      const queue = new SubscriberQueue(() => unsubscribe.fn?.());
      unsubscribe.fn = reflector.subscribe((event) => {
        const obj = event.object as PipelineResourceObject;
        if (args.namespace && obj.metadata.namespace !== args.namespace) return;
        if (args.name && obj.metadata.name !== args.name) return;
        if (args.type && obj.spec?.type !== args.type) return;
        queue.push(event);
      });
      return queue;
    },
    resolve: (event) => event,
  }),
}));
