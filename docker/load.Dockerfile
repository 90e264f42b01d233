# Load-runner image: the one load runner (load/run.ts) bundled by esbuild (autocannon and
# hdr-histogram-js included) with load/mix.json and uPlot's two files for the HTML report. It starts no
# sandbox: give it the target (--base-url or UPGRADELINK_BASE_URL). Reports go to /app/reports.
# The role a k6 image plays; load/k8s/job.yaml runs it as an Indexed Job (one execution segment per pod).
#   docker run --rm --network host --user "$(id -u):$(id -g)" -v "$PWD/reports:/app/reports" \
#     -e UPGRADELINK_BASE_URL -e UPGRADELINK_ACCESS_KEY -e UPGRADELINK_SECRET_KEY -e LOAD_CONFIRM_HOST \
#     upgradelink/load:local smoke --rate 10
ARG NODE_RUNTIME_IMAGE=upgradelink/node-runtime:local
FROM ${NODE_RUNTIME_IMAGE}
COPY app/ /app/
WORKDIR /app
ENV UPGRADELINK_LOAD_RUNNER_IMAGE=1
ARG SOURCE_HASH=unknown
ARG SOURCE_FILES=
LABEL org.opencontainers.image.title="upgradelink-load" \
      org.upgradelink.source-hash="${SOURCE_HASH}" \
      org.upgradelink.source-files="${SOURCE_FILES}"
ENTRYPOINT ["/usr/bin/node", "/app/load/run.mjs"]
CMD ["smoke"]
