import { context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createNamespace } from '../helpers/cluster.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

/** With a tracer provider, an operation is a span and its Kubernetes calls are its children. */
const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
/** The gateway as it runs by default, and with compiled execution (which replaces the execute function tracing wraps). */
const gateways: Record<'graphql-js' | 'compiled', TestGateway> = {} as Record<'graphql-js' | 'compiled', TestGateway>;
let ns: string;
let remove: () => Promise<void>;

beforeAll(async () => {
  provider.register();
  ({ name: ns, remove } = await createNamespace('tracing'));
  gateways['graphql-js'] = await startGateway();
  gateways.compiled = await startGateway({ http: { compiledExecution: true } });
});

afterAll(async () => {
  await Promise.all(Object.values(gateways).map((gw) => gw.stop()));
  await remove?.();
  await provider.shutdown();
  trace.disable();
  context.disable();
});

it.each(['graphql-js', 'compiled'] as const)(
  'traces a mutation (%s) with its Kubernetes call as a child span',
  async (engine) => {
    const gw = gateways[engine];
    exporter.reset();
    const compiledRuns = async () => (await gw.metrics.compiledExecutions.get()).values[0]?.value ?? 0;
    const compiledBefore = await compiledRuns();
    const res = await gw.gql(
      'mutation Traced($i: CreatePipelineResourceInput!) { createPipelineResource(input: $i, dryRun: true) { __typename } }',
      { i: { namespace: ns, name: 'traced', type: 'image', params: [{ name: 'url', value: 'r.example.com/x' }] } },
    );
    expect(res.data.createPipelineResource.__typename).toBe('CreatePipelineResourceSuccess');
    // The compiler replaces the execute function; the tracing plugin's wrapper around it must survive.
    expect(await compiledRuns()).toBe(compiledBefore + (engine === 'compiled' ? 1 : 0));
    const spans = exporter.getFinishedSpans();
    const op = spans.find((s) => s.name === 'graphql.mutation Traced');
    const call = spans.find((s) => s.name === 'k8s POST pipelineresources');
    expect(op?.name).toBe('graphql.mutation Traced');
    expect(call?.parentSpanContext?.spanId).toBe(op?.spanContext().spanId);
    expect(call?.spanContext().traceId).toBe(op?.spanContext().traceId);
  },
);
