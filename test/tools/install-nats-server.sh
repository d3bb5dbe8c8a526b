#!/usr/bin/env bash
# Installs a current nats-server for the tests (Debian ships 2.9, which lacks per-message TTLs
# and KV delete markers) by building it from the Go module proxy, once, into the cache.
# Prints the binary's path. MEGANET_NATS_SERVER points at one you already have.
set -euo pipefail

version="${MEGANET_NATS_SERVER_VERSION:-v2.15.2}"
cache="${MEGANET_CACHE:-$HOME/.cache/meganet}"
if [[ -n "${MEGANET_NATS_SERVER:-}" ]]; then
  echo "$MEGANET_NATS_SERVER"
  exit 0
fi
target="$cache/bin/nats-server-$version/nats-server"
if [[ ! -x "$target" ]]; then
  mkdir -p "$cache/bin"
  # One build at a time per cache: .ci/run starts this script in the background and the tests'
  # global setup runs it again, which then waits here and finds the binary built.
  exec 9>"$cache/bin/.nats-server.lock"
  flock 9
fi
if [[ ! -x "$target" ]]; then
  command -v go >/dev/null || { echo "install-nats-server: go not found; install Go or set MEGANET_NATS_SERVER" >&2; exit 1; }
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  echo "install-nats-server: building nats-server $version (once)" >&2
  GOBIN="$tmp" GOMODCACHE="$cache/go/mod" GOCACHE="$cache/go/build" CGO_ENABLED=0 \
    go install "github.com/nats-io/nats-server/v2@$version" >&2
  mkdir -p "$(dirname "$target")"
  mv "$tmp/nats-server" "$target"
fi
echo "$target"
