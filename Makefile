# The two quick-start commands (`make run`, `make test`) install what they need
# first: Node 24 where the system Node is older, npm packages, and the local
# control plane's binary (built by the tests or by local mode on first use).
SHELL := /bin/bash
NODE_BIN := $(shell ./scripts/ensure-node.sh)
ifeq ($(NODE_BIN),)
$(error could not find or install Node >= 22.19; see scripts/ensure-node.sh)
endif
export PATH := $(NODE_BIN):$(PATH)

.PHONY: run test deps build lint typecheck schema bench clean image image-test

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

deps: node_modules/.package-lock.json

## make run: the gateway in local mode (or against KUBECONFIG / --kubeconfig when set) on http://127.0.0.1:4000/graphql
run: deps
	npx tsx src/index.ts $(ARGS)

## make test: lint, typecheck and the whole suite (unit + integration against a real kube-apiserver and Chromium),
## then, where podman is installed (.ci/run installs it), the image's test
test: deps
	./scripts/ensure-chromium.sh
	npm run -s lint
	npm run -s typecheck
	npm test
	@if command -v podman >/dev/null 2>&1; then $(MAKE) --no-print-directory image-test; \
	else echo "make test: podman is not installed, so the image was not built or tested (scripts/ensure-podman.sh installs it)"; fi

IMAGE ?= tekton-resource-gateway:latest
export IMAGE

## make image: the gateway's image from the Dockerfile, with podman (scripts/image.sh), and its SBOM
image:
	./scripts/image.sh

## make image-test: that image run as in a pod against the local control plane (test/image/)
image-test: deps image
	GATEWAY_IMAGE=$(IMAGE) npx vitest run --config test/image/vitest.config.ts

build: deps
	npm run build

lint: deps
	npm run lint

typecheck: deps
	npm run typecheck

schema: deps
	npm run schema:print

bench: deps
	npm run bench

clean:
	rm -rf dist .local .test-data-* .test-artifacts node_modules .tools image-sbom.spdx.json
