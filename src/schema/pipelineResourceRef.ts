import type { PipelineResourceObject } from '../resources/PipelineResourceObject.js';
import { builder } from './builder.js';

/** Declared apart from its fields so error types and events can refer to it without a cycle. */
export const PipelineResourceRef = builder.objectRef<PipelineResourceObject>('PipelineResource');
