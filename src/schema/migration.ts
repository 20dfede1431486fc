import { ConflictError, ForbiddenError, NotFoundError, UnavailableError, ValidationError } from '../errors.js';
import type { KubeObject } from '../kube/kinds.js';
import { applyMigration, type MigrationOutcome, reportMigration } from '../resources/applyMigration.js';
import { type ImportedDocument, type ImportStatus, importPipelineResources } from '../resources/importResources.js';
import { type MigrationNote, migrateLegacy } from '../resources/migrate.js';
import { readYaml } from '../resources/readYaml.js';
import { writeYaml, writeYamlStream } from '../resources/writeYaml.js';
import { builder } from './builder.js';
import { assumedSize, kubeWrites, listBounds } from './cost.js';
import { FieldErrorRef } from './errors.js';
import { PipelineResourceRef } from './refs.js';
import { dryRunOptions } from './writes.js';

/** The migration of legacy Tekton manifests (docs/bindings.md, "Migrating legacy pipelines") and the bulk import. */

const MigrationNoteRef = builder.objectRef<MigrationNote>('MigrationNote').implement({
  description: 'Something a migration changed, or could not carry over, and where in the input.',
  fields: (t) => ({
    path: t.exposeString('path', { description: 'Where in the input, e.g. `documents[0].spec.tasks[1].resources.inputs[0]`.' }),
    message: t.exposeString('message', { description: 'What, for people.' }),
  }),
});

const MigratedObjectRef = builder.objectRef<{ object: KubeObject; created: boolean }>('MigratedObject').implement({
  description: 'An object a migration makes.',
  fields: (t) => ({
    kind: t.string({ description: '`PipelineResource`, `Pipeline` or `ResourceBinding`.', resolve: (o) => o.object.kind ?? '' }),
    name: t.string({ description: 'Its name.', resolve: (o) => o.object.metadata.name }),
    namespace: t.string({
      nullable: true,
      description: 'Its namespace; null when neither given nor in the documents.',
      resolve: (o) => o.object.metadata.namespace ?? null,
    }),
    yaml: t.string({ description: 'The object, as YAML.', resolve: (o) => writeYaml(o.object) }),
    created: t.exposeBoolean('created', { description: 'Whether it was created (`apply: true`).' }),
  }),
});

const MigrateSuccess = builder.objectRef<MigrationOutcome>('MigrateLegacyPipelineSuccess').implement({
  description: '`migrateLegacyPipeline` succeeded: what it makes (and, with `apply`, made), with a report.',
  fields: (t) => ({
    yaml: t.string({
      description: 'Every object, as one YAML stream in creation order: PipelineResources, Pipelines, ResourceBindings.',
      resolve: (m) => writeYamlStream(m.objects.map((o) => o.object)),
    }),
    objects: t.field({
      type: [MigratedObjectRef],
      description: 'Every object, in creation order.',
      directives: assumedSize(listBounds.report),
      resolve: (m) => m.objects,
    }),
    changes: t.field({
      type: [MigrationNoteRef],
      description: 'What was rewritten, and how.',
      directives: assumedSize(listBounds.report),
      resolve: (m) => m.changes,
    }),
    notCarried: t.field({
      type: [MigrationNoteRef],
      description: 'What could not be carried over, or behaves differently now: act on these by hand.',
      directives: assumedSize(listBounds.report),
      resolve: (m) => m.notCarried,
    }),
    applied: t.exposeBoolean('applied', { description: 'Whether the objects were created (all of them).' }),
  }),
});

const ImportStatusEnum = builder.enumType('ImportStatus', {
  description: 'What became of one document of a bulk import.',
  values: {
    VALID: { description: 'Valid; not written (a dry run, or another document failed).' },
    INVALID: { description: 'Refused by the validator or the apiserver; `errors` says why.' },
    CREATED: { description: 'Created.' },
    ROLLED_BACK: { description: 'Created, then deleted again because a later document failed.' },
  } satisfies Record<ImportStatus, { description: string }>,
});

const ImportedDocumentRef = builder.objectRef<ImportedDocument>('ImportedDocument').implement({
  description: 'One document of a bulk import.',
  fields: (t) => ({
    index: t.exposeInt('index', { description: 'Its position in the YAML stream, from 0.' }),
    name: t.string({ nullable: true, description: 'Its `metadata.name`, when it has one.', resolve: (d) => d.name ?? null }),
    namespace: t.string({ nullable: true, description: 'The namespace it goes to.', resolve: (d) => d.namespace ?? null }),
    status: t.field({ type: ImportStatusEnum, resolve: (d) => d.status, description: 'What became of it.' }),
    errors: t.field({
      type: [FieldErrorRef],
      description:
        'Why it is INVALID, every problem with its path (e.g. `documents[2].spec.params[0].name`); empty when it is not.',
      directives: assumedSize(listBounds.perDocument),
      resolve: (d) => d.errors,
    }),
    notes: t.field({
      type: [MigrationNoteRef],
      description: 'Legacy spellings rewritten (e.g. `URL` to `url`), and legacy behaviour not kept.',
      directives: assumedSize(listBounds.perDocument),
      resolve: (d) => d.notes,
    }),
    resource: t.field({
      type: PipelineResourceRef,
      nullable: true,
      description: 'The resource as created; null unless CREATED.',
      resolve: (d) => d.created ?? null,
    }),
  }),
});

const ImportSuccess = builder
  .objectRef<{ applied: boolean; dryRun: boolean; documents: ImportedDocument[] }>('ImportPipelineResourcesSuccess')
  .implement({
    description: '`importPipelineResources` ran: a report per document. Either every document was created, or none.',
    fields: (t) => ({
      applied: t.exposeBoolean('applied', { description: 'Whether every document was created; false means none was.' }),
      dryRun: t.exposeBoolean('dryRun', { description: 'Whether this was a dry run.' }),
      documents: t.field({
        type: [ImportedDocumentRef],
        description: 'Per document, in order.',
        directives: assumedSize(listBounds.report),
        resolve: (r) => r.documents,
      }),
    }),
  });

const yamlLimitsDoc =
  'at most `YAML_MAX_BYTES` bytes, `YAML_MAX_DEPTH` levels of nesting and `YAML_MAX_ALIASES` alias expansions, read within `YAML_PARSE_TIMEOUT_MS`; past a limit, a ValidationError at path `yaml` and nothing is written.';

builder.mutationFields((t) => ({
  migrateLegacyPipeline: t.field({
    directives: kubeWrites,
    type: MigrateSuccess,
    description:
      'Migrates Tekton v1alpha1/v1beta1 manifests that use PipelineResources (a Pipeline, PipelineRuns, PipelineResources) ' +
      'to a v1 Pipeline with slots, its ResourceBinding and the PipelineResources it needs (docs/bindings.md). With ' +
      '`apply`, creates them all or none, as the caller.',
    errors: {
      types: [ValidationError, NotFoundError, ConflictError, ForbiddenError, UnavailableError],
      directResult: true,
    },
    args: {
      yaml: t.arg.string({
        required: true,
        description: `One or more YAML documents; ${yamlLimitsDoc}`,
      }),
      apply: t.arg.boolean({
        required: false,
        defaultValue: false,
        description: 'Create the objects (all or none); otherwise only report.',
      }),
      namespace: t.arg.string({ required: false, description: 'The namespace of every object; overrides the documents’.' }),
    },
    resolve: async (_root, args, ctx) => {
      const m = migrateLegacy(await readYaml(args.yaml, ctx.yaml), { namespace: args.namespace });
      return args.apply ? applyMigration(ctx.kube, m) : reportMigration(m);
    },
  }),

  importPipelineResources: t.field({
    directives: kubeWrites,
    type: ImportSuccess,
    description:
      'Creates many legacy PipelineResources from YAML documents, all or none, as the caller. Every document is checked ' +
      'first (legacy spellings normalised, then the project’s validator, then a server-side dry run); when any fails, ' +
      'nothing is written and the report says which and why.',
    errors: { types: [ValidationError, UnavailableError], directResult: true },
    args: {
      yaml: t.arg.string({
        required: true,
        description: `PipelineResource documents, separated by \`---\`; ${yamlLimitsDoc}`,
      }),
      namespace: t.arg.string({ required: false, description: 'The namespace of every document; overrides theirs.' }),
      dryRun: t.arg.boolean(dryRunOptions),
    },
    resolve: async (_root, args, ctx) => {
      const report = await importPipelineResources(ctx.kube, await readYaml(args.yaml, ctx.yaml), {
        dryRun: args.dryRun,
        namespace: args.namespace,
      });
      return { ...report, dryRun: !!args.dryRun };
    },
  }),
}));
