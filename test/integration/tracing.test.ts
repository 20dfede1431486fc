import { context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createNamespace } from '../helpers/cluster.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

/** With a tracer provider, an operation is a span and its Kubernetes calls are its children. */
const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
let gw: TestGateway;
let ns: string;
let remove: () => Promise<void>;

beforeAll(async () => {
  provider.register();
  ({ name: ns, remove } = await createNamespace('tracing'));
  gw = await startGateway();
});

afterAll(async () => {
  await gw?.stop();
  await remove?.();
  await provider.shutdown();
  trace.disable();
  context.disable();
});

it('traces a mutation with its Kubernetes call as a child span', async () => {
  exporter.reset();
  const res = await gw.gql(
    'mutation Traced($i: CreatePipelineResourceInput!) { createPipelineResource(input: $i, dryRun: true) { __typename } }',
    { i: { namespace: ns, name: 'traced', type: 'image', params: [{ name: 'url', value: 'r.example.com/x' }] } },
  );
  expect(res.data.createPipelineResource.__typename).toBe('CreatePipelineResourceSuccess');
  const spans = exporter.getFinishedSpans();
  const op = spans.find((s) => s.name === 'graphql.mutation Traced');
  const call = spans.find((s) => s.name === 'k8s POST pipelineresources');
  expect(op).toBeDefined();
  expect(call?.parentSpanContext?.spanId).toBe(op?.spanContext().spanId);
  expect(call?.spanContext().traceId).toBe(op?.spanContext().traceId);
});
