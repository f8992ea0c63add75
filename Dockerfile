# One image for every role: the controller (`etaops controller`), the prediction server
# (`etaops serve`) and the Jobs (`etaops train`, `etaops drift`).
# Node: the current LTS line (26 became Active LTS in October 2026); bump NODE_VERSION to move.
ARG NODE_VERSION=26

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
# .npmrc keeps onnxruntime-node's install script from fetching GPU files.
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# onnxruntime-node ships its macOS and Windows libraries (about 220 MB) in the package; a Linux
# image never loads them.
RUN ./node_modules/.bin/tsc -p tsconfig.build.json \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/onnxruntime-node/bin/napi-v*/darwin node_modules/onnxruntime-node/bin/napi-v*/win32

FROM node:${NODE_VERSION}-bookworm-slim
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="etaops" \
      org.opencontainers.image.description="Delivery-time prediction with its model lifecycle: controller, prediction server and jobs" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
# tini reaps children and forwards SIGTERM so the server drains and the controller releases its Lease.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
# Jobs and predictors run `etaops <command>`: put the CLI on PATH.
RUN chmod +x /app/dist/src/cli/main.js && ln -s /app/dist/src/cli/main.js /usr/local/bin/etaops
# Writable paths are only /tmp (an emptyDir in the chart), so the root filesystem can be read-only.
ENV NODE_ENV=production \
    ETAOPS_HOME=/tmp/etaops \
    HOME=/tmp
USER 65532:65532
EXPOSE 9696 8080
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/dist/src/cli/main.js"]
CMD ["--help"]
