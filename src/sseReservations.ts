import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ExecutionArgs, type ExecutionResult, GraphQLError, getOperationAST } from 'graphql';
import { isAsyncIterable, type YogaServerInstance } from 'graphql-yoga';
import type { Logger } from 'pino';
import { type Caller, identityKey } from './auth/Caller.js';
import type { Context } from './context.js';
import { PushOutlet } from './subscriptions/FanOut.js';
import type { ServerContext } from './yoga.js';

/** graphql-sse's names (its PROTOCOL.md, "single connection mode"). */
export const tokenHeader = 'x-graphql-event-stream-token';
const tokenParam = 'token';

export interface SseReservationLimits {
  /** Reservations held at once in the process; past it a PUT gets 503 TOO_MANY_CONNECTIONS. */
  maxReservations: number;
  /** A reservation whose stream is not opened within this is dropped. */
  openWithinMs: number;
  /** Operations on one stream at once (as subscriptions on one WebSocket). */
  maxOperations: number;
}

export interface SseReservationsOptions {
  yoga: YogaServerInstance<ServerContext, Context>;
  /** The caller of a request, or throws a GraphQLError (UNAUTHENTICATED, RATE_LIMITED) with its HTTP status. */
  authenticate: (req: IncomingMessage) => Promise<Caller>;
  logger: Logger;
  limits: SseReservationLimits;
}

interface Reservation {
  identity: string;
  res: ServerResponse | undefined;
  outlet: PushOutlet;
  operations: Map<string, AsyncIterator<ExecutionResult> | null>;
  expiry: NodeJS.Timeout | undefined;
  ping: NodeJS.Timeout | undefined;
}

type Envelope = ExecutionArgs & { contextValue: Context };

/**
 * graphql-sse's single connection mode on the GraphQL endpoint, for browsers
 * (about six HTTP/1.1 connections per origin): `PUT` reserves a stream and
 * answers its token; a `GET` (or `POST`) with `Accept: text/event-stream` and
 * the token opens it; a `POST` with the token starts an operation whose results
 * come on the stream as `{"id": <operationId>, "payload": …}`; `DELETE
 * ?operationId=` ends one. Every request is authenticated, and a token serves
 * only the identity that reserved it. Subscriptions go through the same fan-out
 * as over a WebSocket: the stream is their outlet, written once per tick with
 * backpressure per subscriber. Distinct-connection SSE stays with yoga.
 */
export class SseReservations {
  private readonly reservations = new Map<string, Reservation>();

  constructor(private readonly options: SseReservationsOptions) {}

  /** Whether a request to the endpoint is this mode's (a reservation, or carries its token). */
  static handles(req: IncomingMessage): boolean {
    return req.method === 'PUT' || req.headers[tokenHeader] !== undefined || tokenOf(req) !== undefined;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let caller: Caller;
    try {
      caller = await this.options.authenticate(req);
    } catch (err) {
      if (!(err instanceof GraphQLError)) throw err;
      const http = err.extensions.http as { status?: number; headers?: Record<string, string> } | undefined;
      return reply(res, http?.status ?? 401, { errors: [err.toJSON()] }, http?.headers);
    }
    const identity = identityKey(caller);
    if (req.method === 'PUT') return this.reserve(res, identity);
    const token = tokenOf(req) ?? '';
    const reservation = this.reservations.get(token);
    // Another identity's token is answered as an unknown one.
    if (!reservation || reservation.identity !== identity)
      return reply(res, 404, { errors: [{ message: 'Stream not found', extensions: { code: 'NOT_FOUND' } }] });
    if ((req.headers.accept ?? '').includes('text/event-stream')) return this.open(token, reservation, res);
    if (req.method === 'DELETE') {
      const id = new URL(req.url ?? '/', 'http://x').searchParams.get('operationId') ?? '';
      const operation = reservation.operations.get(id);
      reservation.operations.delete(id);
      await operation?.return?.();
      return reply(res, 200, null);
    }
    if (req.method === 'POST') return this.start(req, res, reservation, caller);
    return reply(res, 405, { errors: [{ message: 'Method not allowed', extensions: { code: 'METHOD_NOT_ALLOWED' } }] });
  }

  /** Ends every stream (shutdown). */
  close(): void {
    for (const [token, r] of this.reservations) this.drop(token, r);
  }

  private reserve(res: ServerResponse, identity: string): void {
    if (this.reservations.size >= this.options.limits.maxReservations) {
      reply(
        res,
        503,
        { errors: [{ message: 'Too many streams; try again later', extensions: { code: 'TOO_MANY_CONNECTIONS' } }] },
        { 'Retry-After': '5' },
      );
      return;
    }
    const token = randomUUID();
    const reservation: Reservation = {
      identity,
      res: undefined,
      outlet: undefined as unknown as PushOutlet,
      operations: new Map(),
      expiry: setTimeout(() => this.drop(token, reservation), this.options.limits.openWithinMs).unref(),
      ping: undefined,
    };
    reservation.outlet = new PushOutlet({
      write: (messages) => {
        let text = '';
        for (const [id, payload] of messages) text += `event: next\ndata: {"id":${JSON.stringify(id)},"payload":${payload}}\n\n`;
        reservation.res?.write(text);
      },
      get unsent() {
        return reservation.res?.writableLength ?? 0;
      },
      onDrain: (fn) => reservation.res?.once('drain', fn),
      get closed() {
        return !reservation.res || reservation.res.destroyed || reservation.res.writableEnded;
      },
    });
    this.reservations.set(token, reservation);
    res.writeHead(201, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(token);
  }

  private open(token: string, reservation: Reservation, res: ServerResponse): void {
    if (reservation.res) {
      reply(res, 409, { errors: [{ message: 'Stream already open', extensions: { code: 'CONFLICT' } }] });
      return;
    }
    clearTimeout(reservation.expiry);
    reservation.expiry = undefined;
    reservation.res = res;
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      Connection: 'keep-alive',
      'Cache-Control': 'no-cache',
      'Content-Encoding': 'none',
    });
    // Some browsers show nothing until the first bytes; then a comment every 12 s keeps proxies from closing it.
    res.write(':\n\n');
    reservation.ping = setInterval(() => res.write(':\n\n'), 12_000).unref();
    res.once('close', () => this.drop(token, reservation));
  }

  private drop(token: string, reservation: Reservation): void {
    if (this.reservations.get(token) !== reservation) return;
    this.reservations.delete(token);
    clearTimeout(reservation.expiry);
    clearInterval(reservation.ping);
    for (const op of reservation.operations.values()) op?.return?.().catch(() => {});
    reservation.operations.clear();
    if (reservation.res && !reservation.res.writableEnded) reservation.res.end();
  }

  /** Starts an operation: 202 at once, its results on the stream. */
  private async start(req: IncomingMessage, res: ServerResponse, reservation: Reservation, caller: Caller): Promise<void> {
    let params: { query?: unknown; variables?: unknown; operationName?: unknown; extensions?: { operationId?: unknown } };
    try {
      params = JSON.parse(await readBody(req));
    } catch {
      return reply(res, 400, { errors: [{ message: 'The body is not JSON', extensions: { code: 'BAD_REQUEST' } }] });
    }
    const id = params.extensions?.operationId;
    if (typeof id !== 'string' || !id || typeof params.query !== 'string')
      return reply(res, 400, {
        errors: [{ message: 'Send `query` and `extensions.operationId`', extensions: { code: 'BAD_REQUEST' } }],
      });
    if (reservation.operations.has(id))
      return reply(res, 409, { errors: [{ message: 'Operation id in use', extensions: { code: 'CONFLICT' } }] });
    if (reservation.operations.size >= this.options.limits.maxOperations)
      return reply(res, 429, {
        errors: [
          {
            message: `At most ${this.options.limits.maxOperations} operations per stream.`,
            extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' },
          },
        ],
      });
    reservation.operations.set(id, null);
    reply(res, 202, null);
    const frame = (event: 'next' | 'complete', payload?: unknown) =>
      reservation.res?.write(`event: ${event}\ndata: ${JSON.stringify(payload === undefined ? { id } : { id, payload })}\n\n`);
    try {
      const variables = params.variables && typeof params.variables === 'object' ? params.variables : undefined;
      const operationName = typeof params.operationName === 'string' ? params.operationName : undefined;
      const enveloped = this.options.yoga.getEnveloped({
        req,
        caller,
        outlet: { to: reservation.outlet, id },
        // A revoked subscription ends the stream, as it closes a WebSocket (docs/security.md).
        closeConnection: () => reservation.res?.destroy(),
        params: { query: params.query, variables, operationName },
      } as never);
      const document = enveloped.parse(params.query);
      const errors = enveloped.validate(enveloped.schema, document);
      let result: unknown;
      if (errors.length) result = { errors };
      else {
        const args: Envelope = {
          schema: enveloped.schema,
          document,
          variableValues: variables as Record<string, unknown> | undefined,
          operationName,
          contextValue: (await enveloped.contextFactory()) as Context,
        };
        const operation = getOperationAST(document, operationName);
        result = await (operation?.operation === 'subscription' ? enveloped.subscribe(args) : enveloped.execute(args));
      }
      if (isAsyncIterable(result)) {
        const iterator = (result as AsyncIterable<ExecutionResult>)[Symbol.asyncIterator]();
        if (!reservation.operations.has(id)) {
          await iterator.return?.();
          return;
        }
        reservation.operations.set(id, iterator);
        for (let r = await iterator.next(); !r.done; r = await iterator.next()) frame('next', r.value);
      } else frame('next', result);
    } catch (err) {
      this.options.logger.error({ err }, 'graphql-sse operation failed');
      frame('next', { errors: [{ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
    } finally {
      if (reservation.operations.delete(id)) frame('complete');
    }
  }
}

function tokenOf(req: IncomingMessage): string | undefined {
  const header = req.headers[tokenHeader];
  if (typeof header === 'string' && header) return header;
  const query = new URL(req.url ?? '/', 'http://x').searchParams.get(tokenParam);
  return query || undefined;
}

function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (body === null) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

/** The request's body; its size was checked before (app.ts answers 413 past the limit). */
async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
