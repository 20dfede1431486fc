import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeApiError } from '../../src/kube/KubeApiError.js';
import { kinds, resourcePath } from '../../src/kube/kinds.js';
import { createNamespace, eventually, kubeClient } from '../helpers/cluster.js';
import { collect, startGateway, type TestGateway } from '../helpers/gateway.js';

const CREATE = /* GraphQL */ `
  mutation Create($input: CreatePipelineResourceInput!, $dryRun: Boolean) {
    createPipelineResource(input: $input, dryRun: $dryRun) {
      __typename
      ... on CreatePipelineResourceSuccess {
        resource { id namespace name type description resourceVersion params { name value } secrets { fieldName secretName secretKey } labels { key value } }
      }
      ... on Error { message }
      ... on ValidationError { fieldErrors { path message } }
      ... on NotFoundError { kind name }
      ... on ConflictError { current { name resourceVersion } }
    }
  }
`;

let gw: TestGateway;
let ns: string;
let other: string;
const cleanups: (() => Promise<void>)[] = [];
const admin = kubeClient('admin');
const get = (namespace: string, name: string) =>
  admin.request('GET', resourcePath(kinds.PipelineResource, namespace, name)).then(
    () => true,
    (err) => {
      if (err instanceof KubeApiError && err.status === 404) return false;
      throw err;
    },
  );

beforeAll(async () => {
  const a = await createNamespace('slice');
  const b = await createNamespace('slice-other');
  ns = a.name;
  other = b.name;
  cleanups.push(a.remove, b.remove);
  gw = await startGateway();
});

afterAll(async () => {
  await gw?.stop();
  await Promise.all(cleanups.map((c) => c()));
});

const repo = (name: string, extra: Record<string, unknown> = {}) => ({
  namespace: ns,
  name,
  type: 'git',
  description: 'The app source',
  params: [
    { name: 'url', value: 'https://github.com/example/app.git' },
    { name: 'revision', value: 'main' },
  ],
  labels: [{ key: 'team', value: 'a' }],
  ...extra,
});

describe('createPipelineResource', () => {
  it('creates the object in Kubernetes and returns it', async () => {
    const res = await gw.gql(CREATE, { input: repo('app-repo') });
    expect(res.errors).toBeUndefined();
    const out = res.data.createPipelineResource;
    expect(out.__typename).toBe('CreatePipelineResourceSuccess');
    expect(out.resource).toMatchObject({
      namespace: ns,
      name: 'app-repo',
      type: 'git',
      description: 'The app source',
      params: [
        { name: 'url', value: 'https://github.com/example/app.git' },
        { name: 'revision', value: 'main' },
      ],
      labels: [{ key: 'team', value: 'a' }],
    });
    expect(out.resource.resourceVersion).toMatch(/^\d+$/);
    expect(await get(ns, 'app-repo')).toBe(true);
  });

  it('returns a ValidationError naming every bad field, and writes nothing', async () => {
    const res = await gw.gql(CREATE, {
      input: {
        namespace: ns,
        name: 'Bad_Name',
        type: 'git',
        params: [{ name: 'url', value: 'https://x' }],
        labels: [{ key: 'ok', value: 'not ok!' }],
      },
    });
    const out = res.data.createPipelineResource;
    expect(out.__typename).toBe('ValidationError');
    expect(out.fieldErrors.map((e: { path: string }) => e.path)).toEqual(['input.name', 'input.labels[0].value']);
    expect(await get(ns, 'Bad_Name')).toBe(false);
  });

  it('checks params against the resource type', async () => {
    const res = await gw.gql(CREATE, {
      input: {
        namespace: ns,
        name: 'typed',
        type: 'cluster',
        params: [
          { name: 'url', value: 'not a url' },
          { name: 'colour', value: 'blue' },
          { name: 'token', value: 'sekret' },
        ],
        secrets: [{ fieldName: 'nope', secretName: 's', secretKey: 'k' }],
      },
    });
    const out = res.data.createPipelineResource;
    expect(out.__typename).toBe('ValidationError');
    expect(out.fieldErrors).toEqual([
      { path: 'input.params[0].value', message: '"url" must be a URL' },
      { path: 'input.params[1].name', message: expect.stringContaining('unknown param "colour"') },
      { path: 'input.params[2].name', message: expect.stringContaining('is secret') },
      { path: 'input.secrets[0].fieldName', message: 'type cluster takes secrets for: password, token, cadata' },
    ]);
    expect(await get(ns, 'typed')).toBe(false);
  });

  it('rejects an unknown type and a missing required param', async () => {
    const unknown = await gw.gql(CREATE, { input: { namespace: ns, name: 'u', type: 'svn', params: [] } });
    expect(unknown.data.createPipelineResource.fieldErrors).toEqual([
      { path: 'input.type', message: expect.stringContaining('unknown resource type') },
    ]);
    const missing = await gw.gql(CREATE, {
      input: { namespace: ns, name: 'm', type: 'database', params: [{ name: 'engine', value: 'postgres' }] },
    });
    expect(missing.data.createPipelineResource.fieldErrors.map((e: { message: string }) => e.message)).toEqual([
      'type database requires param "host"',
      'type database requires param "port"',
      'type database requires param "database"',
    ]);
  });

  it('returns a ConflictError carrying the current object when the name is taken', async () => {
    await gw.gql(CREATE, { input: repo('taken') });
    await eventually(() =>
      gw
        .gql(`{ pipelineResource(namespace: "${ns}", name: "taken") { name } }`)
        .then((r) => r.data?.pipelineResource ?? undefined),
    );
    const res = await gw.gql(CREATE, { input: repo('taken') });
    const out = res.data.createPipelineResource;
    expect(out.__typename).toBe('ConflictError');
    expect(out.message).toContain('already exists');
    expect(out.current.name).toBe('taken');
  });

  it('returns a NotFoundError for a namespace that does not exist', async () => {
    const res = await gw.gql(CREATE, { input: { ...repo('x'), namespace: 'no-such-namespace' } });
    expect(res.data.createPipelineResource).toMatchObject({
      __typename: 'NotFoundError',
      kind: 'Namespace',
      name: 'no-such-namespace',
    });
  });

  it('dryRun validates with the apiserver and writes nothing', async () => {
    const res = await gw.gql(CREATE, { input: repo('dry'), dryRun: true });
    expect(res.data.createPipelineResource.__typename).toBe('CreatePipelineResourceSuccess');
    expect(await get(ns, 'dry')).toBe(false);
  });
});

describe('the CRD itself', () => {
  it('refuses a resource missing a required param, through kubectl-style writes too', async () => {
    const err = await admin
      .request('POST', resourcePath(kinds.PipelineResource, ns), {
        body: {
          apiVersion: 'tekton.dev/v1alpha1',
          kind: 'PipelineResource',
          metadata: { name: 'no-url' },
          spec: { type: 'git', params: [] },
        },
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect((err as KubeApiError).status).toBe(422);
    expect((err as KubeApiError).message).toContain('url');
  });
});

describe('queries', () => {
  beforeAll(async () => {
    const more = [
      repo('web-repo', { labels: [{ key: 'team', value: 'b' }] }),
      { namespace: ns, name: 'web-image', type: 'image', params: [{ name: 'url', value: 'registry.example.com/web' }] },
      { namespace: other, name: 'elsewhere', type: 'image', params: [{ name: 'url', value: 'registry.example.com/other' }] },
    ];
    for (const input of more) {
      const res = await gw.gql(CREATE, { input });
      expect(res.data.createPipelineResource.__typename).toBe('CreatePipelineResourceSuccess');
    }
    await eventually(() =>
      gw
        .gql(`{ pipelineResource(namespace: "${other}", name: "elsewhere") { name } }`)
        .then((r) => r.data?.pipelineResource ?? undefined),
    );
    await eventually(() =>
      gw
        .gql(`{ pipelineResource(namespace: "${ns}", name: "web-image") { name } }`)
        .then((r) => r.data?.pipelineResource ?? undefined),
    );
  });

  const names = async (args: string) => {
    const res = await gw.gql(
      `{ pipelineResources(${args}) { totalCount edges { node { namespace name } } pageInfo { hasNextPage endCursor } } }`,
    );
    expect(res.errors).toBeUndefined();
    return res.data.pipelineResources;
  };

  it('lists in stable order by namespace then name, with filters', async () => {
    expect((await names(`namespace: "${ns}"`)).edges.map((e: any) => e.node.name)).toEqual([
      'app-repo',
      'taken',
      'web-image',
      'web-repo',
    ]);
    expect((await names(`namespace: "${ns}", type: "image"`)).edges.map((e: any) => e.node.name)).toEqual(['web-image']);
    expect((await names(`namespace: "${ns}", labelSelector: "team=b"`)).edges.map((e: any) => e.node.name)).toEqual(['web-repo']);
    expect(
      (await names(`namespace: "${ns}", labelSelector: "team in (a,b),team!=a"`)).edges.map((e: any) => e.node.name),
    ).toEqual(['web-repo']);
    expect((await names(`namespace: "${ns}", search: "REGISTRY.example"`)).edges.map((e: any) => e.node.name)).toEqual([
      'web-image',
    ]);
    const both = (await names('type: "image"')).edges.map((e: any) => e.node.namespace);
    expect(both.indexOf(ns) >= 0 && both.indexOf(other) >= 0).toBe(true);
  });

  it('pages with cursors', async () => {
    const page1 = await names(`namespace: "${ns}", first: 3`);
    expect(page1.totalCount).toBe(4);
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const page2 = await names(`namespace: "${ns}", first: 3, after: "${page1.pageInfo.endCursor}"`);
    expect(page2.edges.map((e: any) => e.node.name)).toEqual(['web-repo']);
    expect(page2.pageInfo.hasNextPage).toBe(false);
  });

  it('refuses a bad label selector or page size with a typed error', async () => {
    const bad = await gw.gql(`{ pipelineResources(labelSelector: "a in (") { totalCount } }`);
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const big = await gw.gql(`{ pipelineResources(first: 501) { totalCount } }`);
    expect(big.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('reads one resource, and null for none; node() by global id', async () => {
    const res = await gw.gql(
      `{ a: pipelineResource(namespace: "${ns}", name: "app-repo") { id type } b: pipelineResource(namespace: "${ns}", name: "nope") { id } }`,
    );
    const a = res.data.a;
    expect(a.type).toBe('git');
    expect(res.data.b).toBeNull();
    const node = await gw.gql(`query($id: ID!) { node(id: $id) { __typename ... on PipelineResource { name } } }`, { id: a.id });
    expect(node.data.node).toEqual({ __typename: 'PipelineResource', name: 'app-repo' });
  });

  it('lists the resource type catalog', async () => {
    const res = await gw.gql('{ resourceTypes { name params { name required secret } } }');
    const types = res.data.resourceTypes;
    expect(types.map((t: any) => t.name)).toEqual([
      'git',
      'pullRequest',
      'image',
      'cluster',
      'storage',
      'cloudEvent',
      'config',
      'database',
    ]);
    expect(types[0].params[0]).toEqual({ name: 'url', required: true, secret: false });
  });
});

describe('pipelineResourceEvents', () => {
  it('streams ADDED, MODIFIED and DELETED in order, filtered', async () => {
    const client = gw.ws();
    const sub = collect<any>(
      client,
      `subscription($ns: String) { pipelineResourceEvents(namespace: $ns, type: "git") { type resourceVersion object { name params { name value } } } }`,
      { ns },
    );
    // Writes made before the server attaches the subscription would not be streamed.
    await eventually(() => (gw.cache.kind('PipelineResource').listenerCount > 0 ? true : undefined));
    await gw.gql(CREATE, { input: repo('live') });
    await gw.gql(CREATE, {
      input: { namespace: ns, name: 'live-image', type: 'image', params: [{ name: 'url', value: 'r.example.com/x' }] },
    });
    await gw.gql(CREATE, { input: { ...repo('live-elsewhere'), namespace: other } });
    const path = resourcePath(kinds.PipelineResource, ns, 'live');
    await admin.request('PATCH', path, {
      body: { spec: { params: [{ name: 'url', value: 'https://github.com/example/live.git' }] } },
      contentType: 'application/merge-patch+json',
    });
    await admin.request('DELETE', path);
    await eventually(() => (sub.received.length >= 3 ? true : undefined));
    sub.dispose();
    expect(sub.failure).toBeUndefined();
    const events = sub.received.map((d) => d.pipelineResourceEvents);
    expect(events.map((e) => `${e.type} ${e.object.name}`)).toEqual(['ADDED live', 'MODIFIED live', 'DELETED live']);
    expect(events[1].object.params).toEqual([{ name: 'url', value: 'https://github.com/example/live.git' }]);
    const versions = events.map((e) => Number(e.resourceVersion));
    expect([...versions].sort((x, y) => x - y)).toEqual(versions);
  });
});

describe('subscriptions over SSE', () => {
  it('streams the same events to an HTTP client that accepts text/event-stream', async () => {
    const abort = new AbortController();
    const res = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({
        query: `subscription { pipelineResourceEvents(namespace: "${ns}", name: "sse") { type object { name } } }`,
      }),
      signal: abort.signal,
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    await eventually(() => (gw.cache.kind('PipelineResource').listenerCount > 0 ? true : undefined));
    await gw.gql(CREATE, { input: repo('sse') });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    while (!text.includes('"ADDED"')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    abort.abort();
    expect(text).toContain('data: {"data":{"pipelineResourceEvents":{"type":"ADDED","object":{"name":"sse"}}}}');
  });
});
