# syntax=docker/dockerfile:1
# CostSim guard service image (docs/deploy.md "Container image"): built from the sources with `npm run
# build` (tsc to dist/), run from the build output as the unprivileged `node` user.
ARG NODE_VERSION=24

# --- build: every dependency, compile, then drop the dev dependencies --------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
# Dependencies first, so this layer is reused until package*.json change. --ignore-scripts: `prepare`
# (npm run build) needs the sources, which come next; install scripts run with `npm rebuild` below.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY . .
RUN npm rebuild \
 && npm run build \
 && npm prune --omit=dev --no-audit --no-fund

# --- runtime: the build output, production dependencies, docs (runbooks are served at /docs/) ----------
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=8000 \
    DATA_DIR=/var/lib/costsim-guard
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/bin ./bin
COPY --from=build /app/dist ./dist
COPY --from=build /app/docs ./docs
# The built-in golden datasets (found beside package.json, like docs/).
COPY --from=build /app/datasets ./datasets
# DATA_DIR holds only what the service writes for itself (a generated key when none is configured).
RUN mkdir -p /var/lib/costsim-guard && chown node:node /var/lib/costsim-guard
USER node
EXPOSE 8000
# Ready = database reachable, migrations applied, projections caught up (GET /health/ready, no key).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8000) + '/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "bin/costsim-guard.js", "serve"]
