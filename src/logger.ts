import pino, { type Logger } from 'pino';

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'tekton-resource-gateway' },
    // Never log credentials that ride on requests.
    redact: ['req.headers.authorization', 'req.headers.cookie', '*.token', '*.authorization'],
  });
}
