import { type ResourceParamSpec, type ResourceTypeSpec, resourceTypes } from '../resources/catalog.js';
import { builder } from './builder.js';
import { assumedSize, listBounds } from './cost.js';

const ResourceParamSpecRef = builder.objectRef<ResourceParamSpec>('ResourceParamSpec').implement({
  description: 'A param a resource type takes, for drawing and checking forms.',
  fields: (t) => ({
    name: t.exposeString('name', {
      description: 'The param name: `ResourceParam.name`, or `SecretRef.fieldName` when `secret`, e.g. `url`.',
    }),
    required: t.exposeBoolean('required', { description: 'Whether every resource of the type must give it a non-blank value.' }),
    default: t.string({
      nullable: true,
      description: 'What applies when the param is left out; null when nothing does.',
      resolve: (p) => p.default ?? null,
    }),
    description: t.exposeString('description', { description: 'What the param means, for people (form help text).' }),
    secret: t.exposeBoolean('secret', { description: 'Given through `secrets` (a Secret reference), never as a plain param.' }),
    allowedValues: t.stringList({
      nullable: true,
      description: 'The only values it accepts (a choice, e.g. `true`/`false`); null when any value is accepted.',
      directives: assumedSize(listBounds.small),
      resolve: (p) => (p.values ? [...p.values] : null),
    }),
  }),
});

const ResourceTypeRef = builder.objectRef<ResourceTypeSpec>('ResourceType').implement({
  description: 'A kind of PipelineResource and the params it takes.',
  fields: (t) => ({
    name: t.exposeString('name', {
      description: 'The type name, as `PipelineResource.type` (`spec.type`) holds it, e.g. `git`.',
    }),
    description: t.exposeString('description', { description: 'What a resource of this type is, for people.' }),
    legacy: t.exposeBoolean('legacy', { description: 'Defined by Tekton itself before v0.46.' }),
    params: t.field({
      type: [ResourceParamSpecRef],
      description: 'Every param the type takes, secret ones included, in catalog order.',
      directives: assumedSize(Math.max(...resourceTypes.map((rt) => rt.params.length))),
      resolve: (rt) => [...rt.params],
    }),
  }),
});

builder.queryField('resourceTypes', (t) =>
  t.field({
    type: [ResourceTypeRef],
    description: 'The catalog of resource types.',
    directives: assumedSize(resourceTypes.length),
    resolve: () => [...resourceTypes],
  }),
);
