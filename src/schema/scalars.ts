import { builder } from './builder.js';

builder.scalarType('DateTime', {
  description: 'An RFC 3339 timestamp, as Kubernetes writes them.',
  serialize: (value) => value,
  parseValue: (value) => {
    if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) throw new TypeError('DateTime must be an RFC 3339 string');
    return value;
  },
});
