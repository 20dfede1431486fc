# syntax=docker/dockerfile:1
# Build: docker build -t tekton-resource-gateway .
# Run in a cluster (see deploy/); it reads its ServiceAccount and serves :4000.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
USER node
EXPOSE 4000
ENTRYPOINT ["node", "dist/index.js"]
