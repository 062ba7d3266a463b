# Astral as a container: Node 20 on Debian 12. Build stage: npm ci, mediasoup worker, compiled server and widget; runtime stage: production dependencies only, non-root.
FROM node:20-bookworm AS build
WORKDIR /app
# The mediasoup worker's offline source build (scripts/mediasoup-worker/build.sh) compiles against these Debian 12 libraries.
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends g++ make pkg-config ninja-build meson python3 libssl-dev libuv1-dev libsrtp2-dev libusrsctp-dev libabsl-dev libflatbuffers-dev flatbuffers-compiler liburing-dev \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/server/package.json packages/server/
COPY packages/widget/package.json packages/widget/
# As `npm run setup` does: skip mediasoup's own install step; ensure.sh provides the worker (prebuilt, else built from source).
RUN MEDIASOUP_WORKER_BIN=skip npm ci --no-audit --no-fund --loglevel=error
COPY scripts scripts
RUN bash scripts/mediasoup-worker/ensure.sh && cp node_modules/mediasoup/worker/out/Release/mediasoup-worker /mediasoup-worker
COPY tsconfig.json vite.config.ts ./
COPY packages packages
COPY demo demo
RUN npm run build
# Production dependencies only (no tsx, typescript or vite at run time).
RUN MEDIASOUP_WORKER_BIN=skip npm ci --omit=dev --no-audit --no-fund --loglevel=error

FROM node:20-bookworm-slim
# The built-in AI agent speaks with espeak-ng and listens with pocketsphinx; the rest are the source-built worker's shared libraries.
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends espeak-ng pocketsphinx pocketsphinx-en-us libssl3 libuv1 libsrtp2-1 libusrsctp2 libabsl20220623 libflatbuffers2 liburing2 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/packages/protocol/package.json packages/protocol/
COPY --from=build /app/packages/protocol/dist packages/protocol/dist
COPY --from=build /app/packages/server/package.json packages/server/
COPY --from=build /app/packages/server/dist packages/server/dist
COPY --from=build /app/packages/widget/package.json packages/widget/
COPY --from=build /app/packages/widget/dist packages/widget/dist
COPY --from=build /app/demo demo
COPY --from=build /mediasoup-worker /usr/local/bin/mediasoup-worker
ENV NODE_ENV=production \
    MEDIASOUP_WORKER_BIN=/usr/local/bin/mediasoup-worker \
    ASTRAL_DATA_DIR=/data \
    PORT=8000
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
# HTTP + socket.io; RTC media (UDP/TCP, ASTRAL_RTC_MIN_PORT..MAX_PORT); SIP (UDP/TCP 5060, TLS 5061).
EXPOSE 8000 40000-49999/udp 40000-49999/tcp 5060/udp 5060/tcp 5061/tcp
# Plain node as PID 1: `docker stop`'s SIGTERM reaches it, and it drains calls for ASTRAL_DRAIN_SECONDS before exiting.
CMD ["node", "--conditions=astral-compiled", "packages/server/dist/main.js"]
