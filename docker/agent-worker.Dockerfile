# syntax=docker/dockerfile:1
#
# agent-worker: the reference agent; consumes Redis (port 8082: health and metrics only).
# Build from the repository root:
#   docker build -f docker/agent-worker.Dockerfile -t admitone/agent-worker:$(git rev-parse --short HEAD) .
# Configuration is environment only (docs/configuration.md); no secret is
# baked into the image: keys come from the platform's Secret store at run time.

# ---- build: the whole toolchain (Nx, webpack, TypeScript), discarded afterwards.
FROM node:20.19-bookworm-slim AS build
WORKDIR /workspace
ENV NX_DAEMON=false NX_NO_CLOUD=true CI=true
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
# Only what the build reads: a change to another app does not rebuild this image.
COPY nx.json tsconfig.base.json jest.preset.js jest.config.ts eslint.config.mjs ./
COPY libs libs
COPY apps/agent-worker apps/agent-worker
RUN npx nx build agent-worker

# ---- runtime: Node and the production dependencies of this one app.
FROM node:20.19-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
# webpack bundles our libs into main.js but leaves every npm package external
# (require("ioredis") at run time). Nx's generatePackageJson writes, next to
# the bundle, a package.json listing exactly the packages it requires, at the
# versions of the root lockfile, and a package-lock.json pruned to them
# (platform builds of native packages such as @node-rs/argon2 included).
# `npm ci --omit=dev` against that pair installs the tested versions and
# nothing else. The alternatives are worse: `npm ci --omit=dev` against the
# root lockfile installs the runtime dependencies of every app (the root
# package.json is shared), and `npm install` of the generated package.json
# without its lockfile re-resolves transitive versions at build time.
COPY --from=build /workspace/dist/apps/agent-worker/package.json /workspace/dist/apps/agent-worker/package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund
# main.js resolves its packages from /app/node_modules (Node walks up from
# dist/apps/agent-worker/). Files stay owned by root: the app cannot rewrite itself.
COPY --from=build /workspace/dist/apps/agent-worker dist/apps/agent-worker
USER node
EXPOSE 8082
# No curl in slim images: node asks /health/live on the port the app uses
# (Cloud Run injects PORT). Kubernetes and Cloud Run use their own probes.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "require('node:http').get({host:'127.0.0.1',port:process.env.PORT||8082,path:'/health/live',timeout:2000},(r)=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1)).on('timeout',()=>process.exit(1))"]
# node is PID 1 and handles SIGTERM itself (graceful shutdown); no shell in between.
CMD ["node", "dist/apps/agent-worker/main.js"]
