import { builder } from './builder.js';
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

export const schema = builder.toSchema();
