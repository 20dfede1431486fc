import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kinds, resourcePath } from '../../src/kube/kinds.js';
import { eventually, kubeClient, kubeconfigPath } from '../helpers/cluster.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * GraphiQL as a user meets it: Debian's Chromium (scripts/ensure-chromium.sh) opens /graphql with nothing but
 * loopback, the user types a token into the headers editor, runs a query and a subscription, and sees an event
 * arrive after a write. Any request for another host fails the test. A screenshot is left in .test-artifacts/.
 */
const executablePath = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const token = JSON.parse(readFileSync(kubeconfigPath('alice'), 'utf8')).users[0].user.token as string;
const suffix = randomBytes(3).toString('hex');
const namespace = 'team-a'; // alice edits team-a
const watched = `browser-${suffix}`;
const admin = kubeClient('admin');

let gw: TestGateway;
let context: BrowserContext;
let page: Page;
let profile: string;
/** Every URL the browser asked for (pages, scripts, fetches, sockets). */
const requested: string[] = [];

beforeAll(async () => {
  // Token mode, with local mode's Host check on: the page must work with both.
  gw = await startGateway({ auth: 'token', loopbackHostsOnly: true });
  profile = mkdtempSync(join(tmpdir(), 'graphiql-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1400, height: 900 },
  });
  const origin = new URL(gw.url).host;
  context.on('request', (r) => void requested.push(r.url()));
  // Whatever is not this gateway is refused (and recorded above), so nothing leaves loopback.
  await context.route(
    (url) => url.host !== origin && url.protocol !== 'data:' && url.protocol !== 'blob:',
    (route) => route.abort('blockedbyclient'),
  );
  page = context.pages()[0] ?? (await context.newPage());
  page.on('websocket', (socket) => void requested.push(socket.url()));
});

afterAll(async () => {
  if (page) {
    mkdirSync('.test-artifacts', { recursive: true });
    await page.screenshot({ path: '.test-artifacts/graphiql.png' }).catch(() => {});
  }
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await gw?.stop();
  await admin.request('DELETE', resourcePath(kinds.PipelineResource, namespace, watched)).catch(() => {});
});

/** Opens GraphiQL with `query` in its editor (GraphiQL reads `?query=`). */
async function open(query: string): Promise<void> {
  await page.goto(`${gw.url}?query=${encodeURIComponent(query)}`);
  await page.locator('.graphiql-execute-button').waitFor({ timeout: 30_000 });
}

/** Types alice's token into the current tab's headers editor. */
async function typeToken(): Promise<void> {
  await page.getByText('Headers', { exact: true }).click();
  const headers = page.locator('.graphiql-editor-tool .graphiql-editor').last();
  await headers.click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  // Monaco closes brackets and quotes as they are typed; typing each closer steps over it.
  await page.keyboard.type(`{"Authorization": "Bearer ${token}"}`);
}

/** The response pane's text: Monaco renders each line in `.view-lines`, spaces as no-break spaces. */
async function response(): Promise<string> {
  const text = (await page.locator('.graphiql-response .view-lines').textContent()) ?? '';
  return text.replace(/\u00a0/g, ' ');
}

describe('GraphiQL in Chromium, offline', () => {
  it('serves a page that needs no other host', async () => {
    const res = await fetch(gw.url, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+stylesheet[^>]+href=|unpkg|jsdelivr/);
  });

  it('runs a query with the Authorization header typed into the headers editor', async () => {
    await open(`{ pipelineResources(namespace: "${namespace}", first: 1) { totalCount } }`);
    await typeToken();
    await page.locator('.graphiql-execute-button').click();
    const text = await eventually(async () => {
      const t = await response();
      return t.includes('totalCount') ? t : undefined;
    }, 30_000);
    expect(JSON.parse(text)).toEqual({ data: { pipelineResources: { totalCount: expect.any(Number) } } });
  });

  it('runs a subscription over graphql-ws and shows the event a write causes', async () => {
    await admin.request('POST', resourcePath(kinds.PipelineResource, namespace), {
      body: {
        apiVersion: 'tekton.dev/v1alpha1',
        kind: 'PipelineResource',
        metadata: { name: watched },
        spec: { type: 'image', params: [{ name: 'url', value: 'registry.example.com/browser' }] },
      },
    });
    // The tab opened below takes its headers from GraphiQL's storage, written a moment after typing (debounced):
    // wait until the token typed in the previous test is stored, or a loaded machine opens the tab without it.
    await eventually(
      async () =>
        (await page.evaluate(() => Object.keys(localStorage).some((k) => (localStorage.getItem(k) ?? '').includes('Bearer'))))
          ? true
          : undefined,
      15_000,
    );
    await open(
      `subscription { pipelineResourceEvents(namespace: "${namespace}", name: "${watched}") { type object { name labels { value } } } }`,
    );
    const sockets: string[] = [];
    page.on('websocket', (s) => void sockets.push(s.url()));
    await page.locator('.graphiql-execute-button').click();
    // The page cannot say when the server has registered the subscription, so each try writes a new label
    // value and waits for the pane to show it.
    // Any value written so far counts: on a loaded machine an event may take longer than one try to show.
    let shown: unknown;
    const written: string[] = [];
    for (let attempt = 1; attempt <= 20 && !shown; attempt++) {
      const value = `v${attempt}`;
      written.push(value);
      await admin.request('PATCH', resourcePath(kinds.PipelineResource, namespace, watched), {
        body: { metadata: { labels: { attempt: value } } },
        contentType: 'application/merge-patch+json',
      });
      shown = await eventually(async () => {
        const t = await response();
        return written.some((v) => t.includes(`"${v}"`)) ? JSON.parse(t) : undefined;
      }, 3_000).catch(() => undefined);
    }
    expect(shown).toMatchObject({
      data: { pipelineResourceEvents: { type: 'MODIFIED', object: { name: watched, labels: [{ value: expect.any(String) }] } } },
    });
    expect(sockets).toEqual([gw.url.replace('http', 'ws')]);
  }, 90_000);

  it('asked for nothing but this gateway', () => {
    const origin = new URL(gw.url).origin;
    const foreign = requested.filter(
      (u) => !u.startsWith(origin) && !u.startsWith(origin.replace('http', 'ws')) && !/^(data|blob):/.test(u),
    );
    expect(foreign).toEqual([]);
    expect(requested.filter((u) => u.startsWith(origin)).length).toBeGreaterThan(1);
  });
});
