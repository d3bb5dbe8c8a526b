#!/usr/bin/env bash
# Builds, once, the binaries of a real Kubernetes control plane for the tests (no Docker, no
# prebuilt downloads): etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok and
# helm, all from the Go module proxy. Each binary is cached under
#   ${MEGANET_CACHE:-$HOME/.cache/meganet}/bin/<tool>-<version>/<binary>
# and skipped on later runs. The Go module and build caches live under ${MEGANET_CACHE}/go, so a
# re-run (or a bump of one version) only rebuilds what changed.
#
# Usage:
#   test/cluster/provision.sh            # builds what is missing, writes $cache/bin/env.sh
#   eval "$(test/cluster/provision.sh)"  # same, and exports the MEGANET_* paths into this shell
#   . "${MEGANET_CACHE:-$HOME/.cache/meganet}/bin/env.sh"   # later, in tests
# Progress goes to stderr; stdout carries only the `export` lines.
#
# Binaries you already have: set MEGANET_ETCD, MEGANET_KUBE_APISERVER,
# MEGANET_KUBE_CONTROLLER_MANAGER, MEGANET_KUBE_SCHEDULER, MEGANET_KWOK or MEGANET_HELM to its
# path and that one is not built. Versions can be overridden with MEGANET_KUBE_VERSION,
# MEGANET_ETCD_VERSION, MEGANET_KWOK_VERSION and MEGANET_HELM_VERSION.
#
# Versions (all build with Go 1.26.8, GOTOOLCHAIN=local):
#   Kubernetes v1.37.2: the newest release served on the proxy; its go.mod says `go 1.26.0`
#     (v1.34.x: go 1.24.0, v1.35.4: go 1.25.0, v1.36.x and v1.37.2: go 1.26.0). It built at the
#     first try, so the older candidates (v1.36.3, v1.35.4, v1.34.4) were not needed; they have
#     the same layout (31 staging replaces in 1.34/1.35, 33 in 1.36/1.37) and should work with
#     MEGANET_KUBE_VERSION.
#   etcd v3.6.16: newest 3.6 patch (go.mod `go 1.26.0`, `toolchain go1.26.10` is only advisory
#     for a dependency). Kubernetes 1.37 supports etcd 3.6; 3.7 was not needed.
#     `go install go.etcd.io/etcd/server/v3@...` is refused because server/v3's go.mod has
#     relative `replace` lines (../api, ../pkg, ...); a wrapper module that requires it builds.
#   kwok v0.8.0 (go 1.26.0; client-go v0.36.1).
#   helm v4.3.2 (go 1.26.0; k8s.io modules at v0.37.2, as Kubernetes v1.37.2's): Helm 3 had its
#     last security release in November 2026, and the module proxy here serves v3.22.0 but does
#     not approve it. Its build shares little with the Kubernetes one despite the same k8s.io
#     versions: built after it (2026-12-06, idle machine, modules not yet downloaded) it took
#     187 s and 338 CPU-seconds. The chart tests pass with it as they did with v3.22.0.
#
# Cost of a cold run, measured on the 2-core/24 GiB test machine (empty module cache, Go build
# cache holding only the standard library): 10m42s wall in all, one binary after the other:
#   etcd 51s, kwok 85s, helm 78s, kube-apiserver 320s (includes `go mod tidy` of the Kubernetes
#   wrapper), kube-controller-manager 101s, kube-scheduler 7s (its packages were already built).
# It leaves about 7.3 GB under $MEGANET_CACHE: go/build 5.0 GB, go/mod 1.9 GB, binaries 0.45 GB.
# A warm re-run takes under a second. Since then the five Kubernetes binaries (these three and
# provision-node.sh's kubelet and kube-proxy) come from one `go build` (go-build.sh's build_kube),
# so their shared packages compile once, and builds run neither niced nor with -p 1.
#
# Checksum database: the go command reaches sum.golang.org through the module proxy
# (GOPROXY/sumdb/sum.golang.org/...), even where sum.golang.org itself does not resolve (as on
# the test machine). When neither answers, this script sets GOSUMDB=off (and GONOSUMDB=* for
# tools that read only that; "GONOSUMCHECK" is no Go variable) and says so: the downloads are then
# checked only against the go.sum files of the modules themselves, not the public log.
set -euo pipefail

KUBE_VERSION="${MEGANET_KUBE_VERSION:-v1.37.2}"
ETCD_VERSION="${MEGANET_ETCD_VERSION:-v3.6.16}"
KWOK_VERSION="${MEGANET_KWOK_VERSION:-v0.8.0}"
HELM_VERSION="${MEGANET_HELM_VERSION:-v4.3.2}"
MIN_GO_MINOR=26 # all four go.mod files above say `go 1.26.0`

cache="${MEGANET_CACHE:-$HOME/.cache/meganet}"
bindir="$cache/bin"
# shellcheck source=test/cluster/go-build.sh
. "$(dirname "${BASH_SOURCE[0]}")/go-build.sh"

# --- builders --------------------------------------------------------------------------------
build_etcd() {
  local dir="$work/etcd"
  new_wrapper "$dir" "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  tidy_wrapper "$dir" go.etcd.io/etcd/server/v3
  (cd "$dir" && gobuild -ldflags "-s -w" -o "$1" go.etcd.io/etcd/server/v3)
}

build_kwok() {
  local dir="$work/kwok"
  new_wrapper "$dir" "sigs.k8s.io/kwok@$KWOK_VERSION"
  tidy_wrapper "$dir" sigs.k8s.io/kwok/cmd/kwok
  (cd "$dir" && gobuild -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}" \
    -o "$1" sigs.k8s.io/kwok/cmd/kwok)
}

build_helm() {
  local dir="$work/helm"
  new_wrapper "$dir" "helm.sh/helm/v4@$HELM_VERSION"
  tidy_wrapper "$dir" helm.sh/helm/v4/cmd/helm
  # As helm's Makefile does for a release. The default .Capabilities.KubeVersion follows the
  # k8s.io/client-go in the binary's build info (v0.37.2: Kubernetes v1.37), no flag needed.
  (cd "$dir" && gobuild -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION -X helm.sh/helm/v4/internal/version.gitTreeState=clean" \
    -o "$1" helm.sh/helm/v4/cmd/helm)
}

build_kube_apiserver() { build_kube kube-apiserver "$1"; }
build_kube_controller_manager() { build_kube kube-controller-manager "$1"; }
build_kube_scheduler() { build_kube kube-scheduler "$1"; }

# --- main ------------------------------------------------------------------------------------
kube_key="kube-$KUBE_VERSION"
resolve etcd MEGANET_ETCD "$bindir/etcd-$ETCD_VERSION/etcd" build_etcd \
  "etcd Version: ${ETCD_VERSION#v}" --version
resolve kwok MEGANET_KWOK "$bindir/kwok-$KWOK_VERSION/kwok" build_kwok "${KWOK_VERSION#v}" --version
resolve helm MEGANET_HELM "$bindir/helm-$HELM_VERSION/helm" build_helm "$HELM_VERSION" version --short
resolve kube-apiserver MEGANET_KUBE_APISERVER "$bindir/$kube_key/kube-apiserver" build_kube_apiserver \
  "Kubernetes $KUBE_VERSION" --version
resolve kube-controller-manager MEGANET_KUBE_CONTROLLER_MANAGER "$bindir/$kube_key/kube-controller-manager" \
  build_kube_controller_manager "Kubernetes $KUBE_VERSION" --version
resolve kube-scheduler MEGANET_KUBE_SCHEDULER "$bindir/$kube_key/kube-scheduler" build_kube_scheduler \
  "Kubernetes $KUBE_VERSION" --version

env_file="$bindir/env.sh"
{
  echo "# Written by test/cluster/provision.sh; source it to find the control-plane binaries."
  printf 'export MEGANET_ETCD=%q\n' "${PATHS[etcd]}"
  printf 'export MEGANET_KUBE_APISERVER=%q\n' "${PATHS[kube-apiserver]}"
  printf 'export MEGANET_KUBE_CONTROLLER_MANAGER=%q\n' "${PATHS[kube-controller-manager]}"
  printf 'export MEGANET_KUBE_SCHEDULER=%q\n' "${PATHS[kube-scheduler]}"
  printf 'export MEGANET_KWOK=%q\n' "${PATHS[kwok]}"
  printf 'export MEGANET_HELM=%q\n' "${PATHS[helm]}"
} >"$env_file.tmp"
mv -f "$env_file.tmp" "$env_file"
log "wrote $env_file"
grep '^export ' "$env_file"
