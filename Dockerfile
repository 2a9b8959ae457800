# lockwarden serve: the policy service and npm registry proxy.
#   docker build -t lockwarden .
#   docker run -p 4880:4880 -v lockwarden-data:/data \
#     -e LOCKWARDEN_UPSTREAM=https://registry.example.internal/ lockwarden
# The admin token is printed once on first start (docker logs), or set LOCKWARDEN_ADMIN_TOKEN.
# Give CI a check-only token (LOCKWARDEN_CHECK_TOKEN), and set LOCKWARDEN_PUBLIC_URL in production.
# Tag checks (suspiciousVersion) use the GitHub API when GITHUB_TOKEN is set (preferred: faster,
# private repositories); without it they run `git ls-remote`, which is why git is installed.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY server ./server
COPY data ./data
COPY scripts/build-cli.mjs scripts/node-bundle-options.mjs ./scripts/
# The TypeScript build and the CLI bundle bin/lockwarden.js loads (lib/cli/); the Action bundle
# (`npm run build`) is not part of the service.
RUN npx tsc -p tsconfig.build.json && node scripts/build-cli.mjs \
  && npm prune --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
RUN apt-get update \
  && apt-get install -y --no-install-recommends git ca-certificates \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    LOCKWARDEN_HOST=0.0.0.0 \
    LOCKWARDEN_PORT=4880 \
    LOCKWARDEN_DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/lib ./lib
COPY package.json ./
COPY bin ./bin
COPY data ./data
COPY schema ./schema
COPY console ./console
RUN mkdir -p /data /policies && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 4880
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.LOCKWARDEN_PORT||4880)+'/-/ping').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Policies kept in git can be mounted and loaded read-only: add `--policy /policies/strict.yaml`.
ENTRYPOINT ["node", "bin/lockwarden.js", "serve"]
