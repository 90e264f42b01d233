# UpgradeLink reference sandbox: sandbox/main.ts bundled into one ESM file by esbuild, plus the data it
# reads at start (generated/openapi.json, fixtures/sandbox.json and its schema). Layout mirrors the
# repository, because the sandbox resolves its defaults relative to its own file:
#   /app/sandbox/sandbox.mjs   /app/generated/openapi.json   /app/fixtures/sandbox{,.schema}.json
# Run with host networking (this project's engines have no bridge):
#   docker run --rm --network host upgradelink/sandbox:local --host 127.0.0.1 --port 8787 [--control-port 8788] [--fault NAME]...
# Ready when it prints `sandbox listening on http://HOST:PORT[ control http://127.0.0.1:C]`.
ARG NODE_RUNTIME_IMAGE=upgradelink/node-runtime:local
FROM ${NODE_RUNTIME_IMAGE}
COPY app/ /app/
WORKDIR /app
ARG SOURCE_HASH=unknown
ARG SOURCE_FILES=
LABEL org.opencontainers.image.title="upgradelink-sandbox" \
      org.upgradelink.source-hash="${SOURCE_HASH}" \
      org.upgradelink.source-files="${SOURCE_FILES}"
ENTRYPOINT ["/usr/bin/node", "/app/sandbox/sandbox.mjs"]
CMD ["--host", "127.0.0.1", "--port", "8787"]
