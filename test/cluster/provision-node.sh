#!/usr/bin/env bash
# Builds, once, what a real (kubelet) test node and the chart's images need besides the control
# plane, all from the Go module proxy, cached like provision.sh's binaries under
#   ${MEGANET_CACHE:-$HOME/.cache/meganet}/bin/<tool>-<version>/<binary>
#   kubelet                      k8s.io/kubernetes/cmd/kubelet (same version as the control plane)
#   pause                        test/tools/pause (the pods' sandbox; Kubernetes' own is C)
#   nats-server-config-reloader  github.com/nats-io/nack (the NATS chart's reloader sidecar)
#   prometheus-nats-exporter     github.com/nats-io/prometheus-nats-exporter (its exporter sidecar)
# containerd, runc and the CNI plugins come from Debian (.ci/run installs them); the images are
# built by test/images/build-images.sh.
#
# Usage: eval "$(bash test/cluster/provision-node.sh)"   # exports MEGANET_KUBELET, ...
# Progress goes to stderr; stdout carries only the `export` lines; $cache/bin/node-env.sh keeps
# them. A binary you already have: set MEGANET_KUBELET, MEGANET_PAUSE, MEGANET_NATS_RELOADER or
# MEGANET_NATS_EXPORTER to its path.
#
# Versions: Kubernetes v1.37.2 as in provision.sh (kubelet 1.37 still falls back to the
#   configured cgroupDriver with Debian's containerd 1.6, which lacks the RuntimeConfig RPC; 1.38
#   is to drop that fallback, and then containerd 2.x is needed). nack v0.23.0 and
#   prometheus-nats-exporter v0.20.1 are the versions the vendored NATS chart (2.14.2) pins.
#
# Cost of a cold run, measured on the 2-core/24 GiB test machine while provision.sh ran beside it
# (empty caches): see the timings written below by whoever last measured them.
#   kubelet ~TBD, pause ~TBD, reloader ~TBD, exporter ~TBD.
set -euo pipefail

KUBE_VERSION="${MEGANET_KUBE_VERSION:-v1.37.2}"
KUBE_COMMANDS=(kubelet)
NACK_VERSION="${MEGANET_NACK_VERSION:-v0.23.0}"
NATS_EXPORTER_VERSION="${MEGANET_NATS_EXPORTER_VERSION:-v0.20.1}"
MIN_GO_MINOR=26

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${MEGANET_CACHE:-$HOME/.cache/meganet}"
bindir="$cache/bin"
lock_name=.provision-node.lock
log_prefix=provision-node
# shellcheck source=test/cluster/go-build.sh
. "$here/go-build.sh"

pause_src="$here/../tools/pause"
# The pause binary is keyed by its source, so an edit rebuilds it.
pause_key="$(cat "$pause_src/go.mod" "$pause_src/main.go" | sha256sum | cut -c1-12)"

build_kubelet() { build_kube kubelet "$1"; }

build_pause() {
  (cd "$pause_src" && gobuild -ldflags "-s -w" -o "$1" .)
}

build_reloader() {
  local dir="$work/nack"
  new_wrapper "$dir" "github.com/nats-io/nack@$NACK_VERSION"
  tidy_wrapper "$dir" github.com/nats-io/nack/cmd/nats-server-config-reloader
  (cd "$dir" && gobuild -ldflags "-s -w -X main.Version=${NACK_VERSION#v}" -o "$1" github.com/nats-io/nack/cmd/nats-server-config-reloader)
}

build_exporter() {
  local dir="$work/nats-exporter"
  new_wrapper "$dir" "github.com/nats-io/prometheus-nats-exporter@$NATS_EXPORTER_VERSION"
  tidy_wrapper "$dir" github.com/nats-io/prometheus-nats-exporter
  (cd "$dir" && gobuild -ldflags "-s -w -X main.version=${NATS_EXPORTER_VERSION#v}" -o "$1" github.com/nats-io/prometheus-nats-exporter)
}

resolve kubelet MEGANET_KUBELET "$bindir/kube-$KUBE_VERSION/kubelet" build_kubelet "Kubernetes $KUBE_VERSION" --version
resolve pause MEGANET_PAUSE "$bindir/pause-$pause_key/pause" build_pause meganet-pause -v
resolve nats-reloader MEGANET_NATS_RELOADER "$bindir/nack-$NACK_VERSION/nats-server-config-reloader" build_reloader "" -help
resolve nats-exporter MEGANET_NATS_EXPORTER "$bindir/prometheus-nats-exporter-$NATS_EXPORTER_VERSION/prometheus-nats-exporter" \
  build_exporter "" -version

env_file="$bindir/node-env.sh"
{
  echo "# Written by test/cluster/provision-node.sh; source it to find the test node's binaries."
  printf 'export MEGANET_KUBELET=%q\n' "${PATHS[kubelet]}"
  printf 'export MEGANET_PAUSE=%q\n' "${PATHS[pause]}"
  printf 'export MEGANET_NATS_RELOADER=%q\n' "${PATHS[nats-reloader]}"
  printf 'export MEGANET_NATS_EXPORTER=%q\n' "${PATHS[nats-exporter]}"
} >"$env_file.tmp"
mv -f "$env_file.tmp" "$env_file"
log "wrote $env_file"
grep '^export ' "$env_file"
