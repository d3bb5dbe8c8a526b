#!/usr/bin/env bash
# Builds, once, test/tools/go-relay (a go-libp2p circuit-relay-v2 relay, the comparator of the
# relay throughput benchmark; its `reserve`, `hold` and `peers` subcommands are go-libp2p relay
# clients, `peers` the reconnect-storm benchmark's load generator, see main.go) from the Go module proxy into the cache:
#   ${MEGANET_CACHE:-$HOME/.cache/meganet}/bin/go-relay-<go-libp2p version>-<source hash>/go-relay
# The hash covers the .go files, go.mod and go.sum, so an edit rebuilds and an unchanged tree is
# skipped. Module and build caches are the shared ones under $MEGANET_CACHE/go (as in
# test/cluster/provision.sh). Prints the binary's path on stdout; progress goes to stderr.
# MEGANET_GO_RELAY points at one you already have.
#
# Run it:  "$(test/tools/install-go-relay.sh)" [--listen /ip4/127.0.0.1/tcp/0] [--buffer-size 2048]
# It prints one JSON line {"peerId":"12D3...","multiaddrs":["/ip4/127.0.0.1/tcp/N/p2p/12D3..."]}
# and runs until SIGTERM/SIGINT.
#   "$(test/tools/install-go-relay.sh)" hold --relay /ip4/127.0.0.1/tcp/N/p2p/12D3...
# holds a reservation there, prints {"peerId":"12D3...","circuitAddrs":[".../p2p-circuit/p2p/12D3..."]}
# and runs until SIGTERM/SIGINT.
#
# go-libp2p v0.51.0 says `go 1.26.0`: builds with the machine's Go 1.26, GOTOOLCHAIN=local.
# Cold (empty module and build caches) it took 1m28s on the 2-core test machine (downloads ~160 MB
# of modules, ~280 MB of build cache; 34 MB binary); with the modules already cached, 30s; an
# unchanged tree, instant. The binary's default --buffer-size is go-libp2p's 2048 bytes, which
# caps js<->go relaying near 20 MB/s here; --buffer-size 16384 or more gave 60-85 MB/s.
set -euo pipefail

if [[ -n "${MEGANET_GO_RELAY:-}" ]]; then
  echo "$MEGANET_GO_RELAY"
  exit 0
fi

src="$(cd "$(dirname "${BASH_SOURCE[0]}")/go-relay" && pwd)"
cache="${MEGANET_CACHE:-$HOME/.cache/meganet}"
bindir="$cache/bin"

if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
  PATH="/usr/local/go/bin:$PATH"
fi

libp2p_version="$(awk '$1 == "github.com/libp2p/go-libp2p" { print $2; exit }' "$src/go.mod")"
hash="$(cat "$src/go.mod" "$src/go.sum" "$src"/*.go | sha256sum | cut -c1-12)"
target="$bindir/go-relay-${libp2p_version:-unknown}-$hash/go-relay"

if [[ ! -x "$target" ]]; then
  command -v go >/dev/null 2>&1 || { echo "install-go-relay: go not found; install Go >= 1.26 or set MEGANET_GO_RELAY" >&2; exit 1; }
  mkdir -p "$bindir"
  # One build at a time per cache (tests started in parallel would otherwise build twice).
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$bindir/.go-relay.lock"
    flock 9
  fi
  if [[ ! -x "$target" ]]; then # built by whoever held the lock before us
    tmp="$(mktemp -d "$bindir/.go-relay.XXXXXX")" # same filesystem: `mv` is atomic
    trap 'rm -rf "$tmp"' EXIT
    echo "install-go-relay: building go-relay (go-libp2p $libp2p_version, once)" >&2
    export GOMODCACHE="$cache/go/mod" GOCACHE="$cache/go/build" CGO_ENABLED=0
    mkdir -p "$GOMODCACHE" "$GOCACHE"
    # go.mod/go.sum are checked in and tidy: build them as they are.
    (cd "$src" && GOFLAGS=-mod=readonly go build -trimpath -o "$tmp/go-relay" .) >&2
    mkdir -p "$(dirname "$target")"
    mv "$tmp/go-relay" "$target"
  fi
fi
echo "$target"
