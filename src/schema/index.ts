import { builder } from './builder.js';
import './scalars.js';
import './errors.js';
import './pipelineResource.js';
import './resourceType.js';

export const schema = builder.toSchema();
