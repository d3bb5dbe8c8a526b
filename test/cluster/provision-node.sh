#!/usr/bin/env bash
# Builds, once, what a real (kubelet) test node and the chart's images need besides the control
# plane, all from the Go module proxy, cached like provision.sh's binaries under
#   ${MEGANET_CACHE:-$HOME/.cache/meganet}/bin/cluster-tools-<key>/<binary>   (kubelet, kube-proxy, coredns)
#   ${MEGANET_CACHE:-$HOME/.cache/meganet}/bin/<tool>-<version>/<binary>       (the others)
#   kubelet, kube-proxy, coredns built with the control plane in one `go build` (go-build.sh's
#                                cluster tools): k8s.io/kubernetes/cmd/..., and CoreDNS with only
#                                the plugins the node uses, for cluster DNS
#   pause                        test/tools/pause (the pods' sandbox; Kubernetes' own is C)
#   nats-server-config-reloader  github.com/nats-io/nack (the NATS chart's reloader sidecar)
#   prometheus-nats-exporter     github.com/nats-io/prometheus-nats-exporter (its exporter sidecar)
# containerd, runc and the CNI plugins come from Debian (.ci/run installs them); the images are
# built by test/images/build-images.sh.
#
# Usage: eval "$(bash test/cluster/provision-node.sh [node|images])"   # exports MEGANET_KUBELET, ...
#   node: only the kubelet, kube-proxy and CoreDNS; images: only pause and the NATS sidecars (what
#   test/images/build-images.sh needs); neither: all. Each part has its own lock, so .ci/run builds
#   both at once.
# Progress goes to stderr; stdout carries only the `export` lines; $cache/bin/node-env.sh keeps
# them. A binary you already have: set MEGANET_KUBELET, MEGANET_PAUSE, MEGANET_NATS_RELOADER or
# MEGANET_NATS_EXPORTER to its path.
#
# Versions: see go-build.sh for the cluster tools (kubelet 1.37 still falls back to the configured
#   cgroupDriver with Debian's containerd 1.6, which lacks the RuntimeConfig RPC; 1.38 is to drop
#   that fallback, and then containerd 2.x is needed). nack v0.23.0 and prometheus-nats-exporter
#   v0.20.1 are the versions the vendored NATS chart (2.14.2) pins.
#
# Cost of the images part cold, measured on the 2-core/24 GiB test machine on 2026-12-02 while
# other engineers' builds kept the load average at 10-16: pause 2 s, nats-server-config-reloader
# 19 s, prometheus-nats-exporter 283 s. The node part: see go-build.sh. Warm: about a second.
set -euo pipefail

NACK_VERSION="${MEGANET_NACK_VERSION:-v0.23.0}"
NATS_EXPORTER_VERSION="${MEGANET_NATS_EXPORTER_VERSION:-v0.20.1}"
MIN_GO_MINOR=26

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${MEGANET_CACHE:-$HOME/.cache/meganet}"
bindir="$cache/bin"
part="${1:-all}"
case "$part" in node | images | all) ;; *) echo "usage: $0 [node|images]" >&2; exit 2 ;; esac
lock_name=".provision-node-$part.lock"
log_prefix=provision-node
# shellcheck source=test/cluster/go-build.sh
. "$here/go-build.sh"

pause_src="$here/../tools/pause"
# The pause binary is keyed by its source, so an edit rebuilds it.
pause_key="$(cat "$pause_src/go.mod" "$pause_src/main.go" | sha256sum | cut -c1-12)"

build_kubelet() { build_cluster_tools kubelet "$1"; }
build_kube_proxy() { build_cluster_tools kube-proxy "$1"; }
build_coredns() { build_cluster_tools coredns "$1"; }

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

env_file="$bindir/node-env.sh"
if [[ "$part" != images ]]; then
tools="$(cluster_tools_dir)"
resolve kubelet MEGANET_KUBELET "$tools/kubelet" build_kubelet "Kubernetes $KUBE_VERSION" --version
resolve kube-proxy MEGANET_KUBE_PROXY "$tools/kube-proxy" build_kube_proxy "Kubernetes $KUBE_VERSION" --version
resolve coredns MEGANET_COREDNS "$tools/coredns" build_coredns "CoreDNS-${COREDNS_VERSION#v}" -version
fi
if [[ "$part" != node ]]; then
resolve pause MEGANET_PAUSE "$bindir/pause-$pause_key/pause" build_pause meganet-pause -v
resolve nats-reloader MEGANET_NATS_RELOADER "$bindir/nack-$NACK_VERSION/nats-server-config-reloader" build_reloader "" -help
resolve nats-exporter MEGANET_NATS_EXPORTER "$bindir/prometheus-nats-exporter-$NATS_EXPORTER_VERSION/prometheus-nats-exporter" \
  build_exporter "" -version
fi

# node-env.sh keeps what every run found, so the two parts (run at once) do not erase each other.
exec 7>"$bindir/.node-env.lock"
flock 7
declare -A VARS=([kubelet]=MEGANET_KUBELET [kube-proxy]=MEGANET_KUBE_PROXY [coredns]=MEGANET_COREDNS [pause]=MEGANET_PAUSE
  [nats-reloader]=MEGANET_NATS_RELOADER [nats-exporter]=MEGANET_NATS_EXPORTER)
{
  echo "# Written by test/cluster/provision-node.sh; source it to find the test node's binaries."
  for name in "${!VARS[@]}"; do
    if [[ -n "${PATHS[$name]:-}" ]]; then
      printf 'export %s=%q\n' "${VARS[$name]}" "${PATHS[$name]}"
    else
      grep "^export ${VARS[$name]}=" "$env_file" 2>/dev/null || true
    fi
  done | sort
} >"$env_file.tmp"
mv -f "$env_file.tmp" "$env_file"
log "wrote $env_file"
for name in "${!PATHS[@]}"; do printf 'export %s=%q\n' "${VARS[$name]}" "${PATHS[$name]}"; done
