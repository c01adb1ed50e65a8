# mfa-gateway: the gateway as a container. The config is mounted at /config and the
# SQLite store lives in the /data volume; both belong to the unprivileged user.
#
#   docker build -t mfa-gateway .
#   docker run -p 8080:8080 -v ./config:/config:ro -v gateway-data:/data \
#     -e GATEWAY_SESSION_SECRET=... mfa-gateway
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY config/schema.json ./config/schema.json
COPY src ./src
COPY scripts/build.ts ./scripts/
# The TypeScript sources compiled to dist/: the image runs JavaScript, which starts faster.
RUN npm run build

FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; better-sqlite3 and @node-rs/argon2 ship prebuilt binaries.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:24-slim
ENV NODE_ENV=production
# `serve` runs with a 16 MB young-generation semi-space (bin/mfa-gateway.js; README "Sizing"):
# another is chosen with -e NODE_OPTIONS=--max-semi-space-size=N. A ceiling for the old generation
# is the operator's (-e NODE_OPTIONS="--max-old-space-size=512", well above the live heap): Node
# sizes it from the container's memory limit where there is one.
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY --from=build /app/dist ./dist
COPY views ./views
COPY store-migrations ./store-migrations
COPY config/schema.json ./config/schema.json
RUN mkdir -p /config /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
# The config should set server.listen to 0.0.0.0:8080 and store.sqlite.path to /data/gateway.db.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/.gateway/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "bin/mfa-gateway.js"]
CMD ["serve", "--config", "/config/gateway.yaml"]
