# syntax=docker/dockerfile:1
# The gateway's image: `docker build -t tekton-resource-gateway .`, or `make image`
# (podman; `make image-test` runs it as in a pod, docs/operations.md).
# Run it in a cluster (deploy/, docs/operations.md): it finds its cluster through its
# ServiceAccount, requires a bearer token from every caller and serves :4000.
# Only what `node dist/index.js` needs is in the final image: dist/ (compiled by
# `npm run build` from src/ via tsconfig.build.json), production node_modules and
# package.json ("type": "module"). Local mode (deploy/crds, test/fixtures, the Go
# control plane) is for development only and is not shipped.

ARG NODE_IMAGE=node:24-bookworm-slim

# npm reaches the registry from the build stages. Where the build machine's TLS
# goes through an inspecting proxy, pass its CA bundle as the `npm_ca` secret
# (`make image` does: --secret id=npm_ca,src=<host CA bundle>); it is added to
# Node's trust for that command only and never stored in a layer. Without the
# secret the mount is empty and Node's own CA list is used.

# Production dependencies only, installed from the lockfile; no install scripts
# (no production dependency has one).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=secret,id=npm_ca \
    if [ -s /run/secrets/npm_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm_ca; fi; \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# The compiler and the rest of the dev dependencies, for the build only.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=secret,id=npm_ca \
    if [ -s /run/secrets/npm_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm_ca; fi; \
    npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and read-only to the gateway's user; the pod mounts the root
# filesystem read-only anyway, with an emptyDir at /tmp.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# The image's `node` user, by number so that Kubernetes can verify runAsNonRoot.
USER 1000:1000
EXPOSE 4000
# Node itself is PID 1 and handles SIGTERM (readiness off, in-flight requests
# finish, WebSockets close with 1001). No HEALTHCHECK: Kubernetes probes
# /healthz and /readyz (deploy/base/deployment.yaml).
ENTRYPOINT ["node", "dist/index.js"]
