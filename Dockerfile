# syntax=docker/dockerfile:1
#
# Dripline container image. Node 24 runs the TypeScript sources directly (type stripping), so
# there is no compile step: the image holds package.json, the lockfile, src/, profiles/ and the
# production node_modules, and starts `node src/main.ts`.
#
#   docker build -t dripline .
#   docker run -p 8080:8080 -v dripline-data:/data \
#     -v "$PWD/dripline.json:/etc/dripline/dripline.json:ro" \
#     -e DRIPLINE_CONFIG=/etc/dripline/dripline.json dripline          (see docs/docker.md)
#
# The image runs in production mode: no sandbox tenant, no sandbox EHR or payer. The sandbox is an
# explicit opt-in: docker run -e SANDBOX=true ...

# ---- build: production dependencies only -------------------------------------------------------
FROM node:24-slim AS build
WORKDIR /app

COPY package.json package-lock.json ./
# --omit=dev: the devDependency `node` (a second Node binary fetched by its preinstall script),
# TypeScript, Jest, eslint, autocannon... stay out of the image; the base image already is Node 24.
# --ignore-scripts: no production dependency has an install script (per package-lock.json only
# `node`, `@swc/core` and `@parcel/watcher` do, all dev), so nothing is lost, and no dependency
# code runs at build time whatever npm's `allowScripts` policy (advisory in npm 11, enforced in 12).
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund

COPY src/ ./src/
COPY profiles/ ./profiles/

# ---- runtime ------------------------------------------------------------------------------------
FROM node:24-slim AS runtime
# SANDBOX=false: outside a container, no config file means sandbox mode (a first run should just
# work); an image is deployed, so it never simulates an EHR and payer unless told to.
ENV NODE_ENV=production \
    SANDBOX=false \
    DATA_DIR=/data \
    PORT=8080
WORKDIR /app

# Application files stay owned by root: the `node` user can read them but not change them.
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/src ./src
COPY --from=build /app/profiles ./profiles

# The embedded SQLite store lives in /data. Create and chown it before VOLUME so that a new named
# volume starts out owned by `node` (a bind mount keeps the host directory's owner: uid 1000 must
# be able to write it).
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]

EXPOSE 8080
# No curl in slim images: ask Node itself. Follows PORT if it is overridden.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]

# main.ts handles SIGTERM (docker stop): it stops accepting connections, lets in-flight requests
# finish (SHUTDOWN_TIMEOUT_MS, default 10 s, docker's default grace period) and closes the store.
CMD ["node", "src/main.ts"]
