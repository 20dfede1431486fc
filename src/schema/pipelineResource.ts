import { forbidden, requireAllowed } from '../auth/guards.js';
import { ConflictError, ForbiddenError, NotFoundError, UnavailableError, ValidationError } from '../errors.js';
import { apiVersion, kinds, resourcePath } from '../kube/kinds.js';
import { LabelSelectorError, parseLabelSelector } from '../kube/labelSelector.js';
import { mapKubeError } from '../kube/mapKubeError.js';
import type { ChangeType, ReflectorEvent } from '../kube/Reflector.js';
import { type PipelineResourceObject, params, secrets } from '../resources/PipelineResourceObject.js';
import { validatePipelineResourceInput } from '../resources/validation.js';
import { SubscriberQueue } from '../subscriptions/SubscriberQueue.js';
import { builder } from './builder.js';
import { badInput, paginate } from './pagination.js';
import { PipelineResourceRef } from './pipelineResourceRef.js';

const LabelRef = builder.objectRef<{ key: string; value: string }>('Label').implement({
  description: 'A Kubernetes label.',
  fields: (t) => ({ key: t.exposeString('key'), value: t.exposeString('value') }),
});

const ResourceParamRef = builder.objectRef<{ name: string; value: string }>('ResourceParam').implement({
  description: 'A param of a resource, as its type defines it.',
  fields: (t) => ({ name: t.exposeString('name'), value: t.exposeString('value') }),
});

const SecretRefRef = builder.objectRef<{ fieldName: string; secretName: string; secretKey: string }>('SecretRef').implement({
  description: 'Where a secret param comes from. Only the reference: the value never leaves the cluster.',
  fields: (t) => ({
    fieldName: t.exposeString('fieldName', { description: 'The param it provides, e.g. `authToken`.' }),
    secretName: t.exposeString('secretName', { description: 'The Secret, in the resource namespace.' }),
    secretKey: t.exposeString('secretKey', { description: 'The key within the Secret.' }),
  }),
});

const resourceKey = (obj: PipelineResourceObject) => `${obj.metadata.namespace ?? ''}\u0000${obj.metadata.name}`;

builder.node(PipelineResourceRef, {
  description: 'A typed, shareable input of pipelines (tekton.dev/v1alpha1 PipelineResource).',
  id: { resolve: (obj) => `${obj.metadata.namespace}/${obj.metadata.name}` },
  loadOne: async (id, ctx) => {
    const [namespace = '', name = ''] = id.split('/');
    if (!(await ctx.authorizer.allowed(ctx.caller, 'get', kinds.PipelineResource, namespace))) return null;
    return (ctx.cache.reflector('PipelineResource').get(namespace, name) as PipelineResourceObject | undefined) ?? null;
  },
  fields: (t) => ({
    namespace: t.string({ resolve: (obj) => obj.metadata.namespace ?? '' }),
    name: t.string({ resolve: (obj) => obj.metadata.name }),
    type: t.string({
      description: 'The resource type, e.g. `git`; see `resourceTypes`.',
      resolve: (obj) => String(obj.spec?.type ?? ''),
    }),
    description: t.string({ nullable: true, resolve: (obj) => obj.spec?.description ?? null }),
    params: t.field({ type: [ResourceParamRef], resolve: (obj) => params(obj) }),
    secrets: t.field({ type: [SecretRefRef], resolve: (obj) => secrets(obj) }),
    labels: t.field({
      type: [LabelRef],
      resolve: (obj) => Object.entries(obj.metadata.labels ?? {}).map(([key, value]) => ({ key, value })),
    }),
    resourceVersion: t.string({
      description: 'Changes on every write; give it back to an update for optimistic concurrency.',
      resolve: (obj) => obj.metadata.resourceVersion ?? '',
    }),
    createdAt: t.field({ type: 'DateTime', nullable: true, resolve: (obj) => obj.metadata.creationTimestamp ?? null }),
  }),
});

builder.queryFields((t) => ({
  pipelineResources: t.connection(
    {
      type: PipelineResourceRef,
      description: 'PipelineResources, ordered by namespace then name.',
      args: {
        namespace: t.arg.string({ required: false, description: 'Only this namespace; all when omitted.' }),
        type: t.arg.string({ required: false, description: 'Only this resource type.' }),
        labelSelector: t.arg.string({ required: false, description: 'A Kubernetes label selector, e.g. `team=a,tier!=prod`.' }),
        search: t.arg.string({ required: false, description: 'Case-insensitive text in the name, description or param values.' }),
      },
      resolve: async (_root, args, ctx) => {
        if (args.namespace) await requireAllowed(ctx, 'list', kinds.PipelineResource, args.namespace);
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
        let items: PipelineResourceObject[] = [];
        for (const obj of ctx.cache.reflector('PipelineResource').list() as IterableIterator<PipelineResourceObject>) {
          if (args.namespace && obj.metadata.namespace !== args.namespace) continue;
          if (args.type && obj.spec?.type !== args.type) continue;
          if (!matches(obj.metadata.labels ?? {})) continue;
          if (search && !matchesSearch(obj, search)) continue;
          items.push(obj);
        }
        // A list across namespaces holds only those the caller may list.
        const readable = await ctx.authorizer.allowedNamespaces(
          ctx.caller,
          'list',
          kinds.PipelineResource,
          items.map((o) => o.metadata.namespace ?? ''),
        );
        items = items.filter((o) => readable.has(o.metadata.namespace ?? ''));
        items.sort((a, b) => (resourceKey(a) < resourceKey(b) ? -1 : 1));
        return paginate(items, resourceKey, args);
      },
    },
    {
      name: 'PipelineResourceConnection',
      fields: (c) => ({
        totalCount: c.int({
          description: 'How many match the filters, over all pages.',
          resolve: (conn) => (conn as { totalCount: number }).totalCount,
        }),
      }),
    },
    { name: 'PipelineResourceEdge' },
  ),
  pipelineResource: t.field({
    type: PipelineResourceRef,
    nullable: true,
    description: 'One PipelineResource, or null when there is none.',
    args: { namespace: t.arg.string({ required: true }), name: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => {
      await requireAllowed(ctx, 'get', kinds.PipelineResource, args.namespace);
      return (
        (ctx.cache.reflector('PipelineResource').get(args.namespace, args.name) as PipelineResourceObject | undefined) ?? null
      );
    },
  }),
}));

function matchesSearch(obj: PipelineResourceObject, search: string): boolean {
  return (
    obj.metadata.name.toLowerCase().includes(search) ||
    (obj.spec?.description ?? '').toLowerCase().includes(search) ||
    params(obj).some((p) => p.value.toLowerCase().includes(search))
  );
}

const ParamInput = builder.inputType('ResourceParamInput', {
  fields: (t) => ({ name: t.string({ required: true }), value: t.string({ required: true }) }),
});
const SecretRefInput = builder.inputType('SecretRefInput', {
  fields: (t) => ({
    fieldName: t.string({ required: true }),
    secretName: t.string({ required: true }),
    secretKey: t.string({ required: true }),
  }),
});
const LabelInput = builder.inputType('LabelInput', {
  fields: (t) => ({ key: t.string({ required: true }), value: t.string({ required: true }) }),
});
const CreateInput = builder.inputType('CreatePipelineResourceInput', {
  fields: (t) => ({
    namespace: t.string({ required: true }),
    name: t.string({ required: true }),
    type: t.string({ required: true, description: 'One of `resourceTypes`.' }),
    description: t.string({ required: false }),
    params: t.field({ type: [ParamInput], required: false }),
    secrets: t.field({ type: [SecretRefInput], required: false }),
    labels: t.field({ type: [LabelInput], required: false }),
  }),
});

builder.mutationFields((t) => ({
  createPipelineResource: t.field({
    type: PipelineResourceRef,
    description: 'Creates a PipelineResource as the caller. Validates everything first; on any error nothing is written.',
    errors: {
      types: [ValidationError, ConflictError, NotFoundError, ForbiddenError, UnavailableError],
      dataField: { name: 'resource' },
    },
    args: {
      input: t.arg({ type: CreateInput, required: true }),
      dryRun: t.arg.boolean({
        required: false,
        defaultValue: false,
        description: 'Validate with the apiserver (server-side dry run) without writing.',
      }),
    },
    resolve: async (_root, { input, dryRun }, ctx) => {
      const checked = validatePipelineResourceInput(input);
      if (!checked.ok) throw new ValidationError(checked.errors);
      const v = checked.value;
      const body: PipelineResourceObject = {
        apiVersion: apiVersion(kinds.PipelineResource),
        kind: kinds.PipelineResource.kind,
        metadata: {
          name: v.name,
          namespace: v.namespace,
          ...(v.labels?.length ? { labels: Object.fromEntries(v.labels.map((l) => [l.key, l.value])) } : {}),
        },
        spec: {
          type: v.type,
          ...(v.description ? { description: v.description } : {}),
          params: v.params ?? [],
          ...(v.secrets?.length ? { secrets: v.secrets } : {}),
        },
      };
      try {
        return await ctx.kube.request<PipelineResourceObject>('POST', resourcePath(kinds.PipelineResource, v.namespace), {
          body,
          query: { dryRun: dryRun ? 'All' : undefined, fieldValidation: 'Strict' },
        });
      } catch (err) {
        ctx.logger.debug({ err }, 'createPipelineResource failed');
        const reflector = ctx.cache.reflector('PipelineResource');
        // The current object is shown only to a caller who may read it.
        const mayRead = await ctx.authorizer.allowed(ctx.caller, 'get', kinds.PipelineResource, v.namespace).catch(() => false);
        throw mapKubeError(err, {
          kind: 'PipelineResource',
          namespace: v.namespace,
          name: v.name,
          // A create that 404s names a namespace that does not exist.
          notFound: { kind: 'Namespace', namespace: '', name: v.namespace },
          current: () => (mayRead ? reflector.get(v.namespace, v.name) : undefined),
        });
      }
    },
  }),
}));

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
