# Prism (the pinned @stoplight/prism-cli from package-lock.json) bundled into one CommonJS file by
# esbuild. Same command-line interface as the official stoplight/prism image (its entrypoint is the
# prism CLI), so either image works with harness/: pass `mock|proxy SPEC [UPSTREAM] -h H -p P`.
# The spec is not baked in: harness/ copies the current generated/openapi.yaml into the container
# at start (/tmp/upgradelink/openapi.yaml). To run by hand:
#   docker run --rm --network host -v "$PWD/generated:/spec:ro" upgradelink/prism:local mock /spec/openapi.yaml -h 127.0.0.1 -p 4010
ARG NODE_RUNTIME_IMAGE=upgradelink/node-runtime:local
FROM ${NODE_RUNTIME_IMAGE}
COPY app/ /app/
WORKDIR /app
ARG PRISM_CLI_VERSION=unknown
LABEL org.opencontainers.image.title="upgradelink-prism" \
      org.upgradelink.prism-cli-version="${PRISM_CLI_VERSION}"
ENTRYPOINT ["/usr/bin/node", "/app/prism.cjs"]
CMD ["--help"]
