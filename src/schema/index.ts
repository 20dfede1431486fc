import { describeGenerated } from './describeGenerated.js';
import { toSubgraphSchema } from './federation.js';
import './scalars.js';
import './errors.js';
// resourceBinding before pipelineResource: the order the subgraph SDL's Mutation fields were first printed in.
import './resourceBinding.js';
import './pipelineResource.js';
import './pipelineResourceMutations.js';
import './resourceType.js';
import './pipeline.js';
import './task.js';
import './pipelineRun.js';
import './namespace.js';
import './events.js';
import './runPipeline.js';
import './migration.js';

/** One schema, served as it is: the API, and a federation v2 subgraph (src/schema/federation.ts). */
export const schema = toSubgraphSchema(describeGenerated);
