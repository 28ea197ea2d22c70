# syntax=docker/dockerfile:1
# backup2mqtt as a container image, for hosts without the Home Assistant app (that app has its own
# image: ha-integration/app/). Build context: the repository root.
#   docker build -t backup2mqtt .
#   docker run -d -p 8080:8080 -v "$PWD/config:/config:ro" -v "$PWD/secrets:/run/secrets:ro" \
#     -v backup2mqtt-data:/data backup2mqtt
# /config/backup2mqtt.yaml is the config (packaging/docker/backup2mqtt.example.yaml is one, made for
# compose.yaml at the repository root); its state_dir must be /data and its http.listen 0.0.0.0:8080.
# Reference: https://docs.docker.com/reference/dockerfile/

# One Node.js LTS release for both stages, pinned to the patch release: a rebuild gives the same
# runtime until this line changes.
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

# --- build: the npm package, exactly as `npm pack -w bridge` makes it for the registry ----------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
# Manifests first, so the dependency layer is reused while only sources change. npm ci needs every
# workspace's package.json to match package-lock.json.
COPY package.json package-lock.json tsconfig.base.json ./
COPY bridge/package.json bridge/
COPY lab/package.json lab/
COPY ha-integration/card/package.json ha-integration/card/
# No install scripts: none of the dependencies needs one (the allowScripts list in package.json
# denies them too); ssh2 then uses Node's own crypto instead of its optional native binding.
RUN npm ci --ignore-scripts --no-audit --no-fund --workspace bridge --workspace lab
COPY bridge/tsconfig.json bridge/
COPY bridge/bin bridge/bin/
COPY bridge/scripts bridge/scripts/
COPY bridge/schemas bridge/schemas/
COPY bridge/src bridge/src/
COPY lab/tsconfig.json lab/
COPY lab/src lab/src/
COPY lab/scenarios lab/scenarios/
# The package carries the repository's README, LICENSE and CHANGELOG (prepack copies them in).
COPY README.md LICENSE CHANGELOG.md ./
# prepack compiles the bridge and the lab from scratch and bundles the lab into the tarball.
RUN mkdir /pkg && npm pack --workspace bridge --pack-destination /pkg

# --- runtime: the package installed as a user of the registry would, nothing else ----------------
FROM ${NODE_IMAGE}
# Dependencies resolve from the registry against the package's ranges; --omit=dev leaves out the
# test and build tools. The install is root's: the code is not writable by the user it runs as.
COPY --from=build /pkg/ /tmp/pkg/
RUN npm install --global --omit=dev --ignore-scripts --no-audit --no-fund /tmp/pkg/backup2mqtt-*.tgz \
 && rm -rf /tmp/pkg /root/.npm \
 && install -d -o node -g node -m 0700 /data \
 && install -d -m 0755 /config

LABEL org.opencontainers.image.title="backup2mqtt" \
      org.opencontainers.image.description="Every Proxmox VE guest's backup state as a Home Assistant device over MQTT" \
      org.opencontainers.image.source="https://github.com/backup2mqtt/backup2mqtt" \
      org.opencontainers.image.url="https://github.com/backup2mqtt/backup2mqtt" \
      org.opencontainers.image.documentation="https://github.com/backup2mqtt/backup2mqtt#readme" \
      org.opencontainers.image.licenses="MIT"

ENV NODE_ENV=production
# The official image's unprivileged user `node`, by number so that runtimes can tell it is not
# root without reading /etc/passwd (Kubernetes' runAsNonRoot).
USER 1000:1000
# /config: the config file (and a CA file if one is named), read-only is enough.
# /data: state_dir: devices, tier overrides, in-flight actions (must survive a new container).
VOLUME ["/config", "/data"]
WORKDIR /data
EXPOSE 8080
# Liveness, not readiness: /livez answers while the process runs; /healthz also wants MQTT and
# Proxmox, and restarting the bridge brings neither back. The slim image has no curl: Node's fetch.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/livez',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Other commands (check, report, plan, forget) with the same config: docker run … IMAGE check --config /config/backup2mqtt.yaml
ENTRYPOINT ["backup2mqtt"]
CMD ["run", "--config", "/config/backup2mqtt.yaml"]
