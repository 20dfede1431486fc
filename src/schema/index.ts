import { builder } from './builder.js';
import { describeGenerated } from './describeGenerated.js';
import './scalars.js';
import './errors.js';
import './pipelineResource.js';
import './pipelineResourceMutations.js';
import './resourceType.js';
import './resourceBinding.js';
import './pipeline.js';
import './task.js';
import './pipelineRun.js';
import './namespace.js';
import './events.js';
import './runs.js';

export const schema = describeGenerated(builder.toSchema());
