import { resourceTypes } from '../resources/catalog.js';
import { maxRecordedResources, maxSlots } from '../resources/tekton.js';
import { pageSize } from './pagination.js';

/**
 * What each list can return, declared on the field with the IBM cost
 * directives (`@listSize`, `@cost`) as Apollo Federation v2.9 imports them.
 * The cost rule (src/plugins/useQueryLimits.ts) reads them back from the
 * schema, and routers that enforce demand control read the same ones from
 * the subgraph SDL (docs/security.md, "Cost").
 */

/** A Relay connection: `edges` holds `first` or `last` items, the default page when neither is given. */
export const connectionSize = {
  listSize: {
    slicingArguments: ['first', 'last'],
    sizedFields: ['edges'],
    assumedSize: pageSize.default,
    requireOneSlicingArgument: false,
  },
};

/** A list cut to its `limit` argument (whose default applies when it is not given). */
export const limitSize = { listSize: { slicingArguments: ['limit'], requireOneSlicingArgument: false } };

/** A plain list of at most (or, when unbounded, usually) `n` items. */
export const assumedSize = (n: number) => ({ listSize: { assumedSize: n } });

/**
 * A list with one item per entry of a list argument (`nodes(ids:)`,
 * `_entities(representations:)`). The cost spec sizes lists by Int arguments
 * only, so this is a field extension the cost rule reads; the SDL carries an
 * `assumedSize` for routers.
 */
export const sizedByArgument = (argument: string) => ({ sizedByArgument: argument });

/** A mutation that reads several objects and writes as the caller: weighed as the Kubernetes requests it makes, about. */
export const kubeWrites = { cost: { weight: 10 } };

/** The bounds behind the assumed sizes, each with its reason. */
export const listBounds = {
  /** Every object list of a namespace (`Namespace.pipelineResources`, …) is assumed to hold one default page. */
  namespaceObjects: pageSize.default,
  /** Kubernetes labels of one object. */
  labels: 32,
  /**
   * Params of one resource: the most plain params a catalog type takes (the gateway refuses others; an object
   * written past the catalog, up to the CRD's 64, is what the execution budget is for).
   */
  resourceParams: Math.max(...resourceTypes.map((t) => t.params.filter((p) => !p.secret).length)),
  /** Params and the values of one array param, fields of a Task or a PipelineRun. */
  tektonParams: 32,
  /** Secret references of one resource: the most secret params a catalog type takes. */
  resourceSecrets: Math.max(...resourceTypes.map((t) => t.params.filter((p) => p.secret).length)),
  /**
   * Bindings and bound pipelines of one resource: a handful in practice. Ten keeps a router's batch of 500
   * `_entities` asking for both within the cost limit (500 × (1 + 10 + 10) = 10,500).
   */
  bindingsPerResource: 10,
  /** Runs that recorded one resource (not cut by an argument; the execution budget backs it). */
  runsPerResource: pageSize.default,
  /** Resources a run records: the cap of src/resources/tekton.ts. */
  recordedResources: maxRecordedResources,
  /** Slots of a pipeline, and entries of a binding: the cap of src/resources/tekton.ts (the binding CRD's `maxItems`). */
  slots: maxSlots,
  /** Tasks of a pipeline, TaskRuns of a run, steps of a task, conditions and workspaces. */
  tasks: 32,
  /** Items of a workspace, allowed values of a param. */
  small: 16,
  /** Nodes and edges of a resource graph: a page of each kind's objects, runs per pipeline. */
  graph: 4 * pageSize.default,
  /** Reports of a mutation (field errors, documents, migrated objects and notes). */
  report: pageSize.default,
  /** Problems and notes of one imported document. */
  perDocument: 20,
  /** `nodes(ids:)` for routers, which cannot size by a list argument. */
  nodes: pageSize.default,
} as const;
