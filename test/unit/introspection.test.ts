import { createYoga } from 'graphql-yoga';
import { expect, it } from 'vitest';
import { useIntrospectionSwitch } from '../../src/plugins/useIntrospectionSwitch.js';
import { schema } from '../../src/schema/index.js';

/** Refusals happen at validation: the schema alone is enough. */
const gateway = (enabled: boolean) =>
  createYoga({ schema, plugins: [useIntrospectionSwitch(enabled)], maskedErrors: true, logging: false });
const ask = async (enabled: boolean, query: string) => {
  const res = await gateway(enabled).fetch('http://yoga/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  });
  return {
    status: res.status,
    body: (await res.json()) as { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] },
  };
};

it.each([
  ['{ __schema { queryType { name } } }', '__schema'],
  ['{ __type(name: "PipelineResource") { name } }', '__type'],
  ['{ _service { sdl } }', '_service'],
  ['query Q { ... on Query { s: _service { sdl } } }', '_service'],
])('with introspection off, refuses %s with INTROSPECTION_DISABLED', async (query, field) => {
  const { status, body } = await ask(false, query);
  expect(status).toBe(200); // application/json: GraphQL errors in a 200, as for every validation error
  expect(body.data).toBeUndefined();
  expect(body.errors).toEqual([
    expect.objectContaining({
      message: `Introspection is disabled: "${field}" is not served.`,
      extensions: { code: 'INTROSPECTION_DISABLED' },
    }),
  ]);
});

it('with introspection off, still answers __typename; with it on, serves the schema and the SDL', async () => {
  expect((await ask(false, '{ __typename }')).body).toEqual({ data: { __typename: 'Query' } });
  const on = await ask(true, '{ _service { sdl } __schema { queryType { name } } }');
  expect(on.status).toBe(200);
  expect(on.body.errors).toBeUndefined();
  expect((on.body.data as { _service: { sdl: string } })._service.sdl).toContain('type PipelineResource');
});
