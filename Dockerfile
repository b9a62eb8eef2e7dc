# syntax=docker/dockerfile:1
# The relay's image: sealdoc-relay and nothing else (no demo, no app, no compiler).
#
#   docker build -t sealdoc-relay .
#   docker run -d -p 8787:8787 -v sealdoc-data:/app/data sealdoc-relay                 # SQLite
#   docker run -d -p 8787:8787 -e DATABASE_URL=postgres://... sealdoc-relay            # PostgreSQL
#
# Configured by environment variables (SEALDOC_*, DATABASE_URL): `sealdoc-relay --help` lists
# them. SQLite keeps its file in /app/data (a volume), the command's default ./data/relay.sqlite.
# docs/operating.md has the whole story; deploy/compose.yaml runs two nodes behind nginx.

ARG NODE_IMAGE=node:20-bookworm-slim

# 1. Build: compile the relay and the two packages it imports, with the workspace's lockfile.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
ENV PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 PUPPETEER_SKIP_DOWNLOAD=1
# Every workspace's package.json: `npm ci` checks the lockfile against all of them.
COPY package.json package-lock.json ./
COPY packages/crypto/package.json packages/crypto/
COPY packages/protocol/package.json packages/protocol/
COPY packages/core/package.json packages/core/
COPY packages/relay/package.json packages/relay/
COPY packages/ui/package.json packages/ui/
COPY packages/demo/package.json packages/demo/
# No install scripts: compiling TypeScript needs no native module (and no browser).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.base.json ./
COPY packages/crypto packages/crypto
COPY packages/protocol packages/protocol
COPY packages/relay packages/relay
# Builds the relay's project references (crypto, protocol) too.
RUN npx tsc -b packages/relay

# 2. Production dependencies of the relay alone, with better-sqlite3's native module built
#    (a prebuilt binary when one downloads, else compiled: hence the compiler, in this stage only).
FROM ${NODE_IMAGE} AS deps
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/crypto/package.json packages/crypto/
COPY packages/protocol/package.json packages/protocol/
COPY packages/core/package.json packages/core/
COPY packages/relay/package.json packages/relay/
COPY packages/ui/package.json packages/ui/
COPY packages/demo/package.json packages/demo/
# pg (the optional peer for PostgreSQL) comes along: the lockfile holds it.
RUN npm ci --omit=dev --workspace=@sealdoc/relay --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3 \
 && cd node_modules/better-sqlite3 \
 && rm -rf deps src build/deps build/Release/obj build/Release/obj.target build/Release/.deps build/Release/sqlite3.a build/Release/test_extension.node

# 3. What runs: Node, the relay's compiled files, its production node_modules; user `node`.
FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules node_modules
COPY --from=build /src/packages/crypto/package.json packages/crypto/package.json
COPY --from=build /src/packages/crypto/dist packages/crypto/dist
COPY --from=build /src/packages/protocol/package.json packages/protocol/package.json
COPY --from=build /src/packages/protocol/dist packages/protocol/dist
COPY --from=build /src/packages/relay/package.json packages/relay/package.json
COPY --from=build /src/packages/relay/bin packages/relay/bin
COPY --from=build /src/packages/relay/dist packages/relay/dist
# The data directory is the one thing the relay writes; the code stays root's, read-only to it.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
ENV SEALDOC_HOST=0.0.0.0 SEALDOC_PORT=8787
VOLUME /app/data
EXPOSE 8787
# Alive: /healthz over http, or https when the relay serves TLS itself (a local probe: no
# certificate check). Node has no curl in this image; this is the same check in Node.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "const e=process.env;require(e.SEALDOC_TLS_CERT?'https':'http').get({host:'127.0.0.1',port:e.SEALDOC_PORT||e.PORT||8787,path:'/healthz',rejectUnauthorized:false,timeout:2500},r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1)).on('timeout',()=>process.exit(1))"]
# SIGTERM: clients are told to reconnect elsewhere and the relay exits within 5 s.
STOPSIGNAL SIGTERM
CMD ["node", "packages/relay/bin/sealdoc-relay.js"]
