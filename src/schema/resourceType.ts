import { type ResourceParamSpec, type ResourceTypeSpec, resourceTypes } from '../resources/catalog.js';
import { builder } from './builder.js';

const ResourceParamSpecRef = builder.objectRef<ResourceParamSpec>('ResourceParamSpec').implement({
  description: 'A param a resource type takes, for drawing and checking forms.',
  fields: (t) => ({
    name: t.exposeString('name'),
    required: t.exposeBoolean('required'),
    default: t.string({ nullable: true, resolve: (p) => p.default ?? null }),
    description: t.exposeString('description'),
    secret: t.exposeBoolean('secret', { description: 'Given through `secrets` (a Secret reference), never as a plain param.' }),
    allowedValues: t.stringList({ nullable: true, resolve: (p) => (p.values ? [...p.values] : null) }),
  }),
});

const ResourceTypeRef = builder.objectRef<ResourceTypeSpec>('ResourceType').implement({
  description: 'A kind of PipelineResource and the params it takes.',
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    legacy: t.exposeBoolean('legacy', { description: 'Defined by Tekton itself before v0.46.' }),
    params: t.field({ type: [ResourceParamSpecRef], resolve: (rt) => [...rt.params] }),
  }),
});

builder.queryField('resourceTypes', (t) =>
  t.field({
    type: [ResourceTypeRef],
    description: 'The catalog of resource types.',
    resolve: () => [...resourceTypes],
  }),
);
