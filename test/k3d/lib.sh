#!/usr/bin/env bash
# Shared settings and helpers of the k3d scripts (sourced, not run). Every setting can be
# overridden from the environment.
# shellcheck disable=SC2034 # the variables are used by the scripts that source this file

CLUSTER="${MEGANET_K3D_CLUSTER:-meganet}"
CONTEXT="k3d-$CLUSTER"
NAMESPACE="${MEGANET_NAMESPACE:-meganet}"
RELEASE="${MEGANET_RELEASE:-meganet}"
FLEET="${MEGANET_FLEET:-meganet}"
IMAGE="${MEGANET_IMAGE:-meganet:dev}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CHART="$ROOT/charts/meganet"

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# need TOOL...: every tool on PATH, with a pointer to where it comes from.
need() {
  local tool missing=()
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  if ((${#missing[@]} > 0)); then
    die "missing: ${missing[*]}. These scripts need Docker (https://docs.docker.com/engine/install/), k3d (https://k3d.io), kubectl and helm 3.13+ on PATH."
  fi
  if [[ " $* " == *" docker "* ]] && ! docker info >/dev/null 2>&1; then
    die "docker is installed but its engine does not answer: start the Docker daemon (or Docker Desktop) first"
  fi
}

# The cluster must exist; every kubectl/helm call names its context, so no other cluster is touched.
need_cluster() {
  k3d cluster get "$CLUSTER" >/dev/null 2>&1 || die "no k3d cluster '$CLUSTER': run test/k3d/up.sh first"
}

kc() { kubectl --context "$CONTEXT" -n "$NAMESPACE" "$@"; }
