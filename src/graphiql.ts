import { css, editorWorkerService, favicon, graphqlWorker, js, jsonWorker } from '@graphql-yoga/render-graphiql/graphiql';
import type { GraphiQLOptions } from 'graphql-yoga';

/**
 * GraphiQL as one self-contained page: its script, styles and editor workers come from the installed
 * `@graphql-yoga/render-graphiql` package and are inlined, so the page loads nothing from another host
 * (air-gapped clusters; no third-party code beside the user's token).
 *
 * Subscriptions run over graphql-ws, whose token rides in `connection_init`, not in an HTTP header; GraphiQL
 * passes its headers editor only to HTTP requests, so `connectionParams` reads the active tab's headers from
 * GraphiQL's own storage when a socket opens. GraphiQL closes an idle socket, so an edited token applies to the
 * next subscription.
 */
export function graphiqlPage(options: GraphiQLOptions): string {
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${escapeHtml(options.title ?? 'GraphiQL')}</title>
    <link rel="icon" href="${favicon}" />
    <style>${css}</style>
  </head>
  <body id="body" class="no-focus-outline">
    <noscript>You need to enable JavaScript to run this app.</noscript>
    <div id="root"></div>
    <script>
      function workerUrl(source) {
        return URL.createObjectURL(new Blob([source], { type: 'application/javascript' }));
      }
      const workers = {
        editorWorkerService: workerUrl(${scriptJson(editorWorkerService)}),
        json: workerUrl(${scriptJson(jsonWorker)}),
        graphql: workerUrl(${scriptJson(graphqlWorker)}),
      };
      self.MonacoEnvironment = { globalAPI: false, getWorkerUrl: (_moduleId, label) => workers[label] };
      /** The Authorization header of the active tab's headers editor, as graphql-ws connection params. */
      function connectionParams() {
        try {
          const state = JSON.parse(localStorage.getItem('graphiql:tabState') || '{}');
          const tab = (state.tabs || [])[state.activeTabIndex || 0];
          const headers = JSON.parse((tab && tab.headers) || '{}');
          const name = Object.keys(headers).find((key) => key.toLowerCase() === 'authorization');
          return name ? { authorization: String(headers[name]) } : {};
        } catch {
          return {};
        }
      }
      ${js};
      YogaGraphiQL.renderYogaGraphiQL(
        window.document.querySelector('#root'),
        Object.assign(${scriptJson(options)}, { connectionParams }),
      );
    </script>
  </body>
</html>`;
}

/** JSON that cannot close the surrounding <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
