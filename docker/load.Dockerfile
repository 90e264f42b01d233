# Load-runner image (stands in for the k6 image of issue 7: k6 is not used here, licence policy):
# load/smoke.ts bundled by esbuild (autocannon included) with load/mix.json and, for the embedded
# sandbox it starts when no target is given, the spec and fixtures. Reports go to /app/reports.
#   docker run --rm --network host --user "$(id -u):$(id -g)" -v "$PWD/reports:/app/reports" \
#     -e UPGRADELINK_BASE_URL -e UPGRADELINK_ACCESS_KEY -e UPGRADELINK_SECRET_KEY -e LOAD_CONFIRM_HOST \
#     upgradelink/load:local --rate 10
ARG NODE_RUNTIME_IMAGE=upgradelink/node-runtime:local
FROM ${NODE_RUNTIME_IMAGE}
COPY app/ /app/
WORKDIR /app
ARG SOURCE_HASH=unknown
ARG SOURCE_FILES=
LABEL org.opencontainers.image.title="upgradelink-load" \
      org.upgradelink.source-hash="${SOURCE_HASH}" \
      org.upgradelink.source-files="${SOURCE_FILES}"
ENTRYPOINT ["/usr/bin/node", "/app/load/smoke.mjs"]
