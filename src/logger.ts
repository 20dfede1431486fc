import pino, { type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';

export interface LoggerOutput {
  /** Human-readable lines (pino-pretty) rather than one JSON object per line. */
  pretty: boolean;
  /** Where lines go; standard output by default. */
  destination?: DestinationStream;
}

/**
 * JSON lines for log collectors; human-readable lines when standard output is a terminal (`make run`), where a
 * developer reads them.
 */
export function createLogger(level: string, output: LoggerOutput = { pretty: process.stdout.isTTY === true }): Logger {
  const options = {
    level,
    base: { service: 'tekton-resource-gateway' },
    // Never log credentials that ride on requests.
    redact: ['req.headers.authorization', 'req.headers.cookie', '*.token', '*.authorization'],
  };
  const destination = output.destination ?? pino.destination(1);
  if (!output.pretty) return pino(options, destination);
  // Synchronous, in this thread: a line is written before the process can exit.
  return pino(
    options,
    pretty({ destination, sync: true, colorize: output.destination === undefined, ignore: 'pid,hostname,service' }),
  );
}
