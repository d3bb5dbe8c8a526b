#!/usr/bin/env bash
# Builds Grafana's dashboard-linter once, from its source vendored in test/tools/dashboard-linter
# (VENDORED.md says why: the module proxy refuses the linter and a dependency of its v0.2.0), into
# the cache, keyed by that source, and prints the binary's path. MEGANET_DASHBOARD_LINTER points at
# one you already have. Its dependencies (Prometheus' and Loki's query parsers, ...) come from the
# Go module proxy.
# Cost of a cold run on the 2-core/24 GiB test machine on 2026-12-02 (its dependencies, Prometheus'
# and Loki's modules among them, not yet in the module cache; load average 10-16 from other work):
# 1081 s, mostly compiling those dependencies with -p 1. Warm: under a second.
set -euo pipefail

MIN_GO_MINOR=26 # its go.mod says go 1.26.0
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$here/dashboard-linter"
cache="${MEGANET_CACHE:-$HOME/.cache/meganet}"
bindir="$cache/bin"
lock_name=.dashboard-linter.lock
log_prefix=install-dashboard-linter
if [[ -n "${MEGANET_DASHBOARD_LINTER:-}" ]]; then
  echo "$MEGANET_DASHBOARD_LINTER"
  exit 0
fi
# shellcheck source=test/cluster/go-build.sh
. "$here/../cluster/go-build.sh"
key="$(cd "$src" && find . -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-12)"

build_linter() {
  # A copy: GOFLAGS=-mod=mod may rewrite go.mod/go.sum, which must not touch the repo.
  cp -r "$src" "$work/dashboard-linter"
  (cd "$work/dashboard-linter" && gobuild -ldflags "-s -w" -o "$1" .)
}

resolve dashboard-linter MEGANET_DASHBOARD_LINTER "$bindir/dashboard-linter-$key/dashboard-linter" build_linter "" --help
echo "${PATHS[dashboard-linter]}"
