#!/usr/bin/env bash
# Builds the container images the real test node runs, with no registry to pull from:
#   docker.io/library/node:24-slim           stand-in base: debootstrap --variant=minbase bookworm
#                                            + the Node 24 binary of the `node` npm package + npm
#                                            + a `node` user (uid/gid 1000), as the real one has
#   ghcr.io/meganet/meganet:<appVersion>     the project's Dockerfile, built as it is (also tagged
#                                            localhost/meganet:dev)
#   docker.io/library/nats:<tag>             nats-server (Go module proxy) on scratch
#   docker.io/natsio/nats-server-config-reloader:<v>, docker.io/natsio/prometheus-nats-exporter:<v>
#                                            the NATS chart's sidecars (Go module proxy) on scratch
#   localhost/meganet-test/pause:<key>       the pods' sandbox (test/tools/pause)
# The stand-ins carry the names the charts use, so `helm install` runs with the charts' default
# image values; each is labelled io.meganet.stand-in=true.
#
# Each image is saved as a docker archive under ${MEGANET_CACHE:-~/.cache/meganet}/images/,
# keyed by what it is built from (the project image: by the content of its build context), and
# loaded into podman's storage when missing there. A warm run takes a few seconds.
# Usage: eval "$(bash test/images/build-images.sh)"   # exports MEGANET_IMAGES_DIR, MEGANET_IMAGE_*
#
# Needs: podman (Debian), debootstrap (Debian), the repo's node_modules (npm ci: the Node 24
# binary), Go binaries from test/cluster/provision-node.sh and test/tools/install-nats-server.sh.
# On this machine: crun refuses the hybrid cgroups, so RUN steps use --isolation chroot; no
# registry is reachable, so --pull=never. The build's `npm ci` needs the machine's CA bundle
# (NODE_EXTRA_CA_CERTS, /etc/ssl/certs/ca-certificates.crt by default): it is copied into the
# stand-in base, whose NODE_EXTRA_CA_CERTS names it (the real node:24-slim has none).
#
# Cost, measured on the 2-core/24 GiB test machine on 2026-12-02 (cold: empty podman storage and
# image cache; load average 10-16 from other work on the machine): stand-in base 183 s
# (debootstrap 2-3 min; 218 MB), project image 443 s (the Dockerfile's two `npm ci`; 368 MB), the
# four scratch images 5-9 s each; plus the Go binaries of provision-node.sh's `images` part (about
# 5 min cold) and nats-server. After a source change only the project image's last layers
# rebuild: 107 s. Warm (nothing changed): a few seconds.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="${MEGANET_CACHE:-$HOME/.cache/meganet}"
images="$cache/images"
mirror="${MEGANET_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
suite=bookworm
npm_version="${MEGANET_IMAGE_NPM_VERSION:-11.19.1}"
ca_bundle="${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}"
podman=(podman --runtime runc)

log() { echo "build-images: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

for tool in podman debootstrap sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found (apt-get install podman debootstrap)"
done
node_bin="$root/node_modules/node/bin/node"
[[ -x "$node_bin" ]] || die "$node_bin missing: run npm ci first"
node_version="$("$node_bin" --version)"
[[ "$node_version" == v24.* ]] || die "$node_bin is $node_version, expected Node 24"

mkdir -p "$images"
exec 8>"$images/.build.lock"
flock 8
work="$(mktemp -d "$images/.work.XXXXXX")"
trap 'rm -rf "$work"' EXIT

key_of() { sha256sum | cut -c1-16; }

# ensure NAME ARCHIVE BUILDER...: NAME in podman's storage and ARCHIVE on disk, building once.
ensure() {
  local name="$1" archive="$2" start=$SECONDS
  shift 2
  if [[ -f "$archive" ]]; then
    if ! "${podman[@]}" image exists "$name"; then
      log "$name: loading $(basename "$archive")"
      "${podman[@]}" load -q -i "$archive" >/dev/null
    fi
    log "$name: cached"
    return 0
  fi
  log "$name: building ..."
  "$@"
  "${podman[@]}" image exists "$name" || die "$name was not built"
  "${podman[@]}" save -q --format docker-archive -o "$archive.partial" "$name"
  mv -f "$archive.partial" "$archive"
  log "$name: built in $((SECONDS - start))s ($(du -h "$archive" | cut -f1) archive)"
}

# --- the stand-in node:24-slim -----------------------------------------------------------------
base_name=docker.io/library/node:24-slim
base_key="$( { echo "$suite $mirror $node_version npm-$npm_version v1"; sha256sum "$ca_bundle"; sed -n '/^build_base()/,/^}/p' "$0"; } | key_of)"
build_base() {
  local rootfs="$work/rootfs" npm_tgz
  log "debootstrap --variant=minbase $suite (a few minutes)"
  debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 30 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
  # What node:24-slim leaves out too: docs, man pages, locales, apt's lists and caches.
  rm -rf "$rootfs"/usr/share/{doc,man,info,locale}/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
    "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/log/*.log
  install -m 0755 "$node_bin" "$rootfs/usr/local/bin/node"
  npm_tgz="$(cd "$work" && npm pack -q "npm@$npm_version" 2>/dev/null | tail -n 1)"
  mkdir -p "$rootfs/usr/local/lib/node_modules/npm"
  tar -xzf "$work/$npm_tgz" -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  echo 'node:x:1000:' >>"$rootfs/etc/group"
  echo 'node:x:1000:1000::/home/node:/bin/bash' >>"$rootfs/etc/passwd"
  echo 'node:*:19000:0:99999:7:::' >>"$rootfs/etc/shadow"
  install -d -o 1000 -g 1000 "$rootfs/home/node"
  install -D -m 0644 "$ca_bundle" "$rootfs/etc/ssl/certs/ca-certificates.crt"
  tar -C "$rootfs" -c . | "${podman[@]}" import -q \
    --change 'ENV=NODE_VERSION='"${node_version#v}" \
    --change 'ENV=NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'LABEL=io.meganet.stand-in=true' \
    --change 'CMD=["node"]' - "$base_name" >/dev/null
}
ensure "$base_name" "$images/node24-slim-$base_key.tar" build_base

# --- the project image, from the Dockerfile as it is -------------------------------------------
app_version="$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$root/charts/meganet/Chart.yaml")"
app_name="ghcr.io/meganet/meganet:$app_version"
# The build context as .dockerignore leaves it: tracked and new files of the copied folders.
app_key="$( { cd "$root" && git ls-files -z -co --exclude-standard -- Dockerfile .dockerignore package.json package-lock.json \
  tsconfig.base.json tsconfig.json contracts fleet-client node-image cdk8s operator patches | sort -z | xargs -0 sha256sum; echo "$base_key"; } | key_of)"
build_app() {
  "${podman[@]}" build -q --pull=never --isolation chroot --network host \
    --ulimit nofile=4096:4096 --ulimit nproc=4096:4096 \
    -t "$app_name" -t localhost/meganet:dev "$root" >"$work/build.log" 2>&1 ||
    { tail -n 40 "$work/build.log" >&2; die "podman build of the Dockerfile failed"; }
}
ensure "$app_name" "$images/meganet-$app_key.tar" build_app
"${podman[@]}" tag "$app_name" localhost/meganet:dev

# Go binaries (cached; each script builds only what is missing).
node_exports="$(bash "$root/test/cluster/provision-node.sh" images)" || die "test/cluster/provision-node.sh images failed (its output is above)"
eval "$node_exports"
MEGANET_NATS_SERVER="$(bash "$root/test/tools/install-nats-server.sh")" || die "test/tools/install-nats-server.sh failed"
nats_version="$("$MEGANET_NATS_SERVER" --version | sed -n 's/.*v\([0-9][0-9.]*\).*/\1/p')"

# --- images FROM scratch around one static Go binary ---------------------------------------------
# scratch_image NAME BINARY ENTRYPOINT-JSON
scratch_image() {
  local name="$1" binary="$2" entrypoint="$3" ctx="$work/ctx-$RANDOM"
  mkdir -p "$ctx"
  cp "$binary" "$ctx/$(basename "$binary")"
  cat >"$ctx/Containerfile" <<EOF
FROM scratch
COPY $(basename "$binary") /usr/local/bin/$(basename "$binary")
ENV PATH=/usr/local/bin
LABEL io.meganet.stand-in=true
ENTRYPOINT $entrypoint
EOF
  "${podman[@]}" build -q --pull=never --isolation chroot -t "$name" -f "$ctx/Containerfile" "$ctx" >/dev/null
}
bin_key() { sha256sum "$1" | key_of; }

nats_name="docker.io/library/nats:$nats_version-alpine"
build_nats() { scratch_image "$nats_name" "$MEGANET_NATS_SERVER" '["nats-server"]'; }
ensure "$nats_name" "$images/nats-$(bin_key "$MEGANET_NATS_SERVER").tar" build_nats

reloader_version="$(basename "$(dirname "$MEGANET_NATS_RELOADER")")" # nack-v0.23.0
reloader_name="docker.io/natsio/nats-server-config-reloader:${reloader_version#nack-v}"
build_reloader() { scratch_image "$reloader_name" "$MEGANET_NATS_RELOADER" '["nats-server-config-reloader"]'; }
ensure "$reloader_name" "$images/nats-reloader-$(bin_key "$MEGANET_NATS_RELOADER").tar" build_reloader

exporter_version="$(basename "$(dirname "$MEGANET_NATS_EXPORTER")")" # prometheus-nats-exporter-v0.20.1
exporter_name="docker.io/natsio/prometheus-nats-exporter:${exporter_version#prometheus-nats-exporter-v}"
build_exporter() { scratch_image "$exporter_name" "$MEGANET_NATS_EXPORTER" '["prometheus-nats-exporter"]'; }
ensure "$exporter_name" "$images/nats-exporter-$(bin_key "$MEGANET_NATS_EXPORTER").tar" build_exporter

pause_key="$(bin_key "$MEGANET_PAUSE")"
pause_name="localhost/meganet-test/pause:$pause_key"
build_pause() { scratch_image "$pause_name" "$MEGANET_PAUSE" '["/usr/local/bin/pause"]'; }
ensure "$pause_name" "$images/pause-$pause_key.tar" build_pause

env_file="$images/env.sh"
{
  echo "# Written by test/images/build-images.sh: the images of the test node, and their archives."
  printf 'export MEGANET_IMAGES_DIR=%q\n' "$images"
  printf 'export MEGANET_IMAGE_BASE=%q\n' "$base_name"
  printf 'export MEGANET_IMAGE_BASE_ARCHIVE=%q\n' "$images/node24-slim-$base_key.tar"
  printf 'export MEGANET_IMAGE_APP=%q\n' "$app_name"
  printf 'export MEGANET_IMAGE_APP_ARCHIVE=%q\n' "$images/meganet-$app_key.tar"
  printf 'export MEGANET_IMAGE_NATS=%q\n' "$nats_name"
  printf 'export MEGANET_IMAGE_NATS_ARCHIVE=%q\n' "$images/nats-$(bin_key "$MEGANET_NATS_SERVER").tar"
  printf 'export MEGANET_IMAGE_NATS_RELOADER=%q\n' "$reloader_name"
  printf 'export MEGANET_IMAGE_NATS_RELOADER_ARCHIVE=%q\n' "$images/nats-reloader-$(bin_key "$MEGANET_NATS_RELOADER").tar"
  printf 'export MEGANET_IMAGE_NATS_EXPORTER=%q\n' "$exporter_name"
  printf 'export MEGANET_IMAGE_NATS_EXPORTER_ARCHIVE=%q\n' "$images/nats-exporter-$(bin_key "$MEGANET_NATS_EXPORTER").tar"
  printf 'export MEGANET_IMAGE_PAUSE=%q\n' "$pause_name"
  printf 'export MEGANET_IMAGE_PAUSE_ARCHIVE=%q\n' "$images/pause-$pause_key.tar"
} >"$env_file.tmp"
mv -f "$env_file.tmp" "$env_file"
log "wrote $env_file"
grep '^export ' "$env_file"
