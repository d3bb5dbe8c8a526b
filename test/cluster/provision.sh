#!/usr/bin/env bash
# Builds, once, the binaries of a real Kubernetes control plane for the tests (no Docker, no
# prebuilt downloads): etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok and
# helm, all from the Go module proxy, with provision-node.sh's kubelet, kube-proxy and CoreDNS in
# the same `go build` (go-build.sh). The binaries are cached under
#   ${MEGANET_CACHE:-$HOME/.cache/meganet}/bin/cluster-tools-<key of all their versions>/
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
# MEGANET_ETCD_VERSION, MEGANET_KWOK_VERSION, MEGANET_HELM_VERSION and MEGANET_COREDNS_VERSION.
#
# Versions, and why all these come from one `go build`: go-build.sh ("the cluster tools"). They
# build with Go 1.26.8, GOTOOLCHAIN=local.
#
# Cost of a cold run: see go-build.sh. It leaves several GB under $MEGANET_CACHE (go/build,
# go/mod, the binaries); a warm re-run takes under a second.
#
# Checksum database: the go command reaches sum.golang.org through the module proxy
# (GOPROXY/sumdb/sum.golang.org/...), even where sum.golang.org itself does not resolve (as on
# the test machine). When neither answers, this script sets GOSUMDB=off (and GONOSUMDB=* for
# tools that read only that; "GONOSUMCHECK" is no Go variable) and says so: the downloads are then
# checked only against the go.sum files of the modules themselves, not the public log.
set -euo pipefail

MIN_GO_MINOR=26 # the go.mod files of the tools say `go 1.26.0`

cache="${MEGANET_CACHE:-$HOME/.cache/meganet}"
bindir="$cache/bin"
# shellcheck source=test/cluster/go-build.sh
. "$(dirname "${BASH_SOURCE[0]}")/go-build.sh"

build_etcd() { build_cluster_tools etcd "$1"; }
build_kwok() { build_cluster_tools kwok "$1"; }
build_helm() { build_cluster_tools helm "$1"; }
build_kube_apiserver() { build_cluster_tools kube-apiserver "$1"; }
build_kube_controller_manager() { build_cluster_tools kube-controller-manager "$1"; }
build_kube_scheduler() { build_cluster_tools kube-scheduler "$1"; }

# --- main ------------------------------------------------------------------------------------
tools="$(cluster_tools_dir)"
resolve etcd MEGANET_ETCD "$tools/etcd" build_etcd "etcd Version: ${ETCD_VERSION#v}" --version
resolve kwok MEGANET_KWOK "$tools/kwok" build_kwok "${KWOK_VERSION#v}" --version
resolve helm MEGANET_HELM "$tools/helm" build_helm "$HELM_VERSION" version --short
resolve kube-apiserver MEGANET_KUBE_APISERVER "$tools/kube-apiserver" build_kube_apiserver "Kubernetes $KUBE_VERSION" --version
resolve kube-controller-manager MEGANET_KUBE_CONTROLLER_MANAGER "$tools/kube-controller-manager" \
  build_kube_controller_manager "Kubernetes $KUBE_VERSION" --version
resolve kube-scheduler MEGANET_KUBE_SCHEDULER "$tools/kube-scheduler" build_kube_scheduler "Kubernetes $KUBE_VERSION" --version

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
