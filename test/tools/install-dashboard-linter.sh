#!/usr/bin/env bash
# Builds Grafana's dashboard-linter once, from its source vendored in test/tools/dashboard-linter
# (VENDORED.md says why: the module proxy refuses the linter and a dependency of its v0.2.0), into
# the cache, keyed by that source, and prints the binary's path. MEGANET_DASHBOARD_LINTER points at
# one you already have. Its dependencies (Prometheus' query parser, cobra, viper) come from the Go
# module proxy; VENDORED.md says what our copy leaves out (Loki, autofix) and why.
# Cost of a cold run: see VENDORED.md. Warm: under a second.
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
