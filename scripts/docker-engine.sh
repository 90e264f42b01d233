#!/usr/bin/env bash
# Docker engine for the container runtime (issue 7), idempotent:
#   bash scripts/docker-engine.sh [start]   install docker.io if missing (apt-get update first; root),
#                                           start dockerd if no engine answers, wait for it (bounded)
#   bash scripts/docker-engine.sh stop      stop the dockerd this script started, by its PID file
#   bash scripts/docker-engine.sh status    exit 0 when an engine answers
# dockerd runs with host networking only (--bridge=none --iptables=false --ip-masq=false): containers
# must use `--network host`. Log: .tmp/docker/dockerd.log; PID: .tmp/docker/dockerd.pid.
# Env: DOCKER_ENGINE_WAIT_SECONDS (default 60), DOCKER_ENGINE_STATE_DIR (default .tmp/docker).
set -euo pipefail
cd "$(dirname "$0")/.."

STATE_DIR=${DOCKER_ENGINE_STATE_DIR:-.tmp/docker}
PID_FILE="$STATE_DIR/dockerd.pid"
LOG_FILE="$STATE_DIR/dockerd.log"
WAIT_SECONDS=${DOCKER_ENGINE_WAIT_SECONDS:-60}

engine_answers() { timeout 5 docker info >/dev/null 2>&1; }

pid_alive() { [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; }

install_if_missing() {
  if command -v dockerd >/dev/null 2>&1 && command -v docker >/dev/null 2>&1; then return; fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "docker-engine: docker.io is not installed; run: sudo apt-get update && sudo apt-get install -y docker.io" >&2
    exit 1
  fi
  echo "docker-engine: installing docker.io (apt-get update first)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends docker.io >/dev/null
}

start() {
  install_if_missing
  if engine_answers; then
    echo "docker-engine: engine already answering ($(docker info --format '{{.ServerVersion}}' 2>/dev/null))"
    return
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "docker-engine: no engine answers and dockerd needs root; run as root or start your engine" >&2
    exit 1
  fi
  mkdir -p "$STATE_DIR"
  if pid_alive; then
    echo "docker-engine: dockerd (pid $(cat "$PID_FILE")) is running but not answering yet; waiting"
  else
    echo "docker-engine: starting dockerd (host networking only), log $LOG_FILE"
    # setsid: its own session, so the caller's Ctrl-C or process-group kill does not take it down.
    setsid dockerd --bridge=none --iptables=false --ip-masq=false >"$LOG_FILE" 2>&1 </dev/null &
    echo $! >"$PID_FILE"
  fi
  local deadline=$((SECONDS + WAIT_SECONDS))
  until engine_answers; do
    if ! pid_alive; then
      echo "docker-engine: dockerd exited; last log lines:" >&2
      tail -n 20 "$LOG_FILE" >&2 || true
      rm -f "$PID_FILE"
      exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "docker-engine: dockerd did not answer within ${WAIT_SECONDS}s; see $LOG_FILE" >&2
      exit 1
    fi
    sleep 0.5
  done
  echo "docker-engine: engine ready ($(docker info --format '{{.ServerVersion}}' 2>/dev/null)), pid $(cat "$PID_FILE")"
}

stop() {
  if ! [ -f "$PID_FILE" ]; then
    echo "docker-engine: no PID file ($PID_FILE); nothing this script started is running"
    return
  fi
  local pid
  pid=$(cat "$PID_FILE")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    local deadline=$((SECONDS + 20))
    while kill -0 "$pid" 2>/dev/null; do
      if [ "$SECONDS" -ge "$deadline" ]; then
        echo "docker-engine: dockerd (pid $pid) still running after 20s; sending SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
        break
      fi
      sleep 0.2
    done
    echo "docker-engine: stopped dockerd (pid $pid)"
  else
    echo "docker-engine: dockerd (pid $pid) was not running"
  fi
  rm -f "$PID_FILE"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status)
    if engine_answers; then echo "docker-engine: engine answering"; else echo "docker-engine: no engine answers"; exit 1; fi
    ;;
  *)
    echo "usage: bash scripts/docker-engine.sh [start|stop|status]" >&2
    exit 2
    ;;
esac
