#!/usr/bin/env bash
# The container services the image e2e (e2e/image-install.test.ts) needs, on a machine without a Docker
# engine: podman's Docker-compatible API on a unix socket (what testcontainers talks to) and a local
# image registry (Debian's docker-registry, plain HTTP on 127.0.0.1) for `velero plugin add`.
#
#   eval "$(bash e2e/containers/services.sh start)"   # starts both, prints the env to export
#   bash e2e/containers/services.sh stop              # stops what start started (by PID)
#
# This machine's cgroup layout needs runc (crun refuses it) and explicit ulimits (podman's defaults
# cannot be raised here): both go into a containers.conf passed with CONTAINERS_CONF. The registry is
# marked insecure (HTTP) in a registries.conf of our own (CONTAINERS_REGISTRIES_CONF), for podman and
# for the API service alike. State lives in $KVP_CONTAINERS_STATE (default /run/kvp-e2e-containers).
set -euo pipefail

state=${KVP_CONTAINERS_STATE:-/run/kvp-e2e-containers}
port=${KVP_E2E_REGISTRY_PORT:-5055}
registry=127.0.0.1:$port
socket=$state/podman.sock

log() { echo "containers: $*" >&2; }

env_lines() {
  cat <<EOF
export CONTAINERS_CONF=$state/containers.conf
export CONTAINERS_REGISTRIES_CONF=$state/registries.conf
export DOCKER_HOST=unix://$socket
export TESTCONTAINERS_RYUK_DISABLED=true
export KVP_E2E_REGISTRY=$registry
EOF
}

stop_pid() {
  local file=$state/$1.pid
  [[ -f $file ]] || return 0
  local pid
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$file"
}

start() {
  for tool in podman docker-registry runc; do
    command -v "$tool" >/dev/null || { log "$tool is missing (apt-get install podman docker-registry runc)"; exit 1; }
  done
  mkdir -p "$state/registry"
  cat > "$state/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=20000:20000"]
[engine]
runtime = "runc"
EOF
  cat > "$state/registries.conf" <<EOF
unqualified-search-registries = ["docker.io"]
[[registry]]
location = "$registry"
insecure = true
EOF
  cat > "$state/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $state/registry
  delete:
    enabled: true
http:
  addr: $registry
EOF
  eval "$(env_lines)"
  if ! { [[ -f $state/registry.pid ]] && kill -0 "$(cat "$state/registry.pid")" 2>/dev/null; }; then
    docker-registry serve "$state/registry.yml" >"$state/registry.log" 2>&1 &
    echo $! > "$state/registry.pid"
  fi
  if ! { [[ -f $state/podman.pid ]] && kill -0 "$(cat "$state/podman.pid")" 2>/dev/null; }; then
    rm -f "$socket"
    podman system service --time=0 "unix://$socket" >"$state/podman-service.log" 2>&1 &
    echo $! > "$state/podman.pid"
  fi
  for _ in $(seq 100); do
    if curl -sf --unix-socket "$socket" http://d/_ping >/dev/null 2>&1 && curl -sf "http://$registry/v2/" >/dev/null 2>&1; then
      log "podman API on $socket, registry on $registry"
      env_lines
      return 0
    fi
    sleep 0.2
  done
  log "services did not answer within 20 s; logs: $state/podman-service.log, $state/registry.log"
  tail -5 "$state/podman-service.log" "$state/registry.log" >&2 || true
  exit 1
}

case ${1:-} in
  start) start ;;
  stop) stop_pid podman; stop_pid registry; rm -f "$socket"; log "stopped" ;;
  env) env_lines ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
