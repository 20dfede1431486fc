import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

/**
 * OpenTelemetry tracing, on when an OTLP endpoint is configured: a span per
 * GraphQL operation (src/plugins/useTracing.ts) with the Kubernetes calls it
 * makes as child spans (src/kube/KubeClient.ts). Returns the function that
 * flushes and stops it.
 */
export function startTracing(endpoint: string): () => Promise<void> {
  const provider = new NodeTracerProvider({
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${endpoint.replace(/\/$/, '')}/v1/traces` }))],
  });
  // Registers the AsyncLocalStorage context manager, so spans nest across awaits.
  provider.register();
  return () => provider.shutdown();
}
