#!/usr/bin/env bash
# Builds the container images harness/ starts, locally and without any registry:
#   upgradelink/node-runtime:local  FROM scratch: the host's node binary + its shared libraries + loader
#   upgradelink/sandbox:local       the sandbox bundled by esbuild + spec + fixtures
#   upgradelink/prism:local         the pinned @stoplight/prism-cli bundled by esbuild
#   upgradelink/load:local          load/run.ts bundled: the load-runner image (in the role of a k6 image)
# Usage: bash scripts/build-images.sh [sandbox] [prism] [load]     (default: all three)
# Env:   UPGRADELINK_SANDBOX_IMAGE, UPGRADELINK_PRISM_IMAGE, UPGRADELINK_LOAD_IMAGE,
#        UPGRADELINK_NODE_RUNTIME_IMAGE override the tags.
#        Users with a registry can skip `prism` and set UPGRADELINK_PRISM_IMAGE=stoplight/prism:5.
# Needs a running engine (npm run docker:engine). Build contexts are staged under .tmp/docker-build/
# (git-ignored), so nothing else in the checkout is sent to the engine.
set -euo pipefail
cd "$(dirname "$0")/.."

SANDBOX_IMAGE=${UPGRADELINK_SANDBOX_IMAGE:-upgradelink/sandbox:local}
PRISM_IMAGE=${UPGRADELINK_PRISM_IMAGE:-upgradelink/prism:local}
LOAD_IMAGE=${UPGRADELINK_LOAD_IMAGE:-upgradelink/load:local}
RUNTIME_IMAGE=${UPGRADELINK_NODE_RUNTIME_IMAGE:-upgradelink/node-runtime:local}
STAGE=.tmp/docker-build
ESBUILD=node_modules/.bin/esbuild

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(sandbox prism load)
for t in "${targets[@]}"; do
  case "$t" in sandbox | prism | load) ;; *) echo "build-images: unknown target '$t' (sandbox, prism, load)" >&2; exit 2 ;; esac
done
want() { local t; for t in "${targets[@]}"; do [ "$t" = "$1" ] && return 0; done; return 1; }

command -v docker >/dev/null || { echo "build-images: docker CLI not found; run: npm run docker:engine" >&2; exit 1; }
timeout 10 docker info >/dev/null 2>&1 || { echo "build-images: no Docker engine answers; run: npm run docker:engine" >&2; exit 1; }
[ -x "$ESBUILD" ] || { echo "build-images: $ESBUILD missing; run: npm ci" >&2; exit 1; }

# The legacy builder ships with every engine; BuildKit needs the buildx plugin, which docker.io lacks.
if docker buildx version >/dev/null 2>&1; then export DOCKER_BUILDKIT=1; else export DOCKER_BUILDKIT=0; fi

build() { # build TAG DOCKERFILE CONTEXT [--build-arg ...]
  local tag=$1 file=$2 context=$3
  shift 3
  local start=$SECONDS
  # The legacy builder prints a deprecation notice on every build: keep the output for failures only.
  if ! docker build --quiet --tag "$tag" --file "$file" "$@" "$context" >"$STAGE/build.log" 2>&1; then
    echo "build-images: building $tag failed:" >&2
    grep -v -e DEPRECATED -e 'legacy builder' -e 'BuildKit is currently disabled' -e 'environment-variable' "$STAGE/build.log" >&2 || true
    exit 1
  fi
  local size
  size=$(docker image inspect --format '{{.Size}}' "$tag")
  printf 'build-images: %-34s %6.1f MB  (%ds)\n' "$tag" "$(awk "BEGIN{print $size/1000000}")" $((SECONDS - start))
}

# What an image was built from: its bundle's own inputs (from esbuild's metafile; not node_modules:
# package-lock.json stands for those) and the data files. Sets $files and $hash; harness/ re-hashes
# the same list (label org.upgradelink.source-files) to spot a stale image.
source_labels() { # source_labels METAFILE DATA_FILE...
  local meta=$1
  shift
  mapfile -t files < <(
    {
      node -e 'for (const f of Object.keys(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).inputs)) if (!f.includes("node_modules/")) console.log(f)' "$meta"
      printf '%s\n' package-lock.json "$@"
    } | LC_ALL=C sort -u
  )
  hash=$(sha256sum "${files[@]}" | sha256sum | cut -c1-64)
}

started=$SECONDS
rm -rf "$STAGE"
mkdir -p "$STAGE"

# --- node runtime: node + the libraries ldd lists + the loader, at their host paths -----------------
node_bin=$(readlink -f "$(command -v node)")
rootfs="$STAGE/runtime/rootfs"
mkdir -p "$rootfs/usr/bin" "$rootfs/tmp"
chmod 1777 "$rootfs/tmp"
cp "$node_bin" "$rootfs/usr/bin/node"
# ldd lines: "libx.so => /path (0x…)" or "/lib64/ld-linux-x86-64.so.2 (0x…)"; vdso has no file.
while read -r lib; do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done < <(ldd "$node_bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u)
build "$RUNTIME_IMAGE" docker/node-runtime.Dockerfile "$STAGE/runtime"
# A missing library or loader only shows when node runs: check it once here.
in_image=$(timeout 30 docker run --rm --network host "$RUNTIME_IMAGE" -p process.version 2>&1) || true
if [ "$in_image" != "$(node --version)" ]; then
  echo "build-images: node does not run in $RUNTIME_IMAGE: $in_image" >&2
  exit 1
fi

# --- sandbox --------------------------------------------------------------------------------------
if want sandbox; then
  app="$STAGE/sandbox/app"
  mkdir -p "$app/sandbox" "$app/generated" "$app/fixtures"
  "$ESBUILD" sandbox/main.ts --bundle --platform=node --format=esm --target=node20 --log-level=warning \
    --metafile="$STAGE/sandbox-meta.json" --outfile="$app/sandbox/sandbox.mjs" \
    --banner:js="import { createRequire as __upgradelinkCreateRequire } from 'node:module'; const require = __upgradelinkCreateRequire(import.meta.url);"
  cp generated/openapi.json "$app/generated/"
  cp fixtures/sandbox.json fixtures/sandbox.schema.json "$app/fixtures/"
  source_labels "$STAGE/sandbox-meta.json" generated/openapi.json fixtures/sandbox.json fixtures/sandbox.schema.json
  build "$SANDBOX_IMAGE" docker/sandbox.Dockerfile "$STAGE/sandbox" \
    --build-arg NODE_RUNTIME_IMAGE="$RUNTIME_IMAGE" --build-arg SOURCE_HASH="$hash" \
    --build-arg SOURCE_FILES="$(IFS=,; echo "${files[*]}")"
fi

# --- prism ----------------------------------------------------------------------------------------
if want prism; then
  app="$STAGE/prism/app"
  mkdir -p "$app"
  prism_version=$(node -p 'require("./node_modules/@stoplight/prism-cli/package.json").version')
  # jsonc-parser's UMD build requires its modules dynamically, which esbuild cannot follow: use its ESM build.
  "$ESBUILD" node_modules/@stoplight/prism-cli/dist/index.js --bundle --platform=node --format=cjs --target=node20 \
    --log-level=error --alias:jsonc-parser=./node_modules/jsonc-parser/lib/esm/main.js --outfile="$app/prism.cjs"
  build "$PRISM_IMAGE" docker/prism.Dockerfile "$STAGE/prism" \
    --build-arg NODE_RUNTIME_IMAGE="$RUNTIME_IMAGE" --build-arg PRISM_CLI_VERSION="$prism_version"
fi

# --- load runner ------------------------------------------------------------------------------------
if want load; then
  app="$STAGE/load/app"
  mkdir -p "$app/load" "$app/reports" "$app/node_modules/uplot/dist"
  # testcontainers stays out: inside the image the runner is given the target and starts nothing.
  "$ESBUILD" load/run.ts --bundle --platform=node --format=esm --target=node20 --log-level=warning \
    --external:testcontainers --metafile="$STAGE/load-meta.json" --outfile="$app/load/run.mjs" \
    --banner:js="import { createRequire as __upgradelinkCreateRequire } from 'node:module'; const require = __upgradelinkCreateRequire(import.meta.url);"
  cp load/mix.json "$app/load/"
  # The HTML report inlines uPlot, read at report time from node_modules/uplot/dist beside the runner.
  cp node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css "$app/node_modules/uplot/dist/"
  chmod 1777 "$app/reports"
  source_labels "$STAGE/load-meta.json" load/mix.json
  build "$LOAD_IMAGE" docker/load.Dockerfile "$STAGE/load" --build-arg NODE_RUNTIME_IMAGE="$RUNTIME_IMAGE" \
    --build-arg SOURCE_HASH="$hash" --build-arg SOURCE_FILES="$(IFS=,; echo "${files[*]}")"
fi

# Rebuilds leave the previous images untagged: remove those (ours only, by label).
docker image prune --force --filter label=org.upgradelink.image=true >/dev/null 2>&1 || true
echo "build-images: done in $((SECONDS - started))s"
