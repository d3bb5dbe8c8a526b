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
#   helm v3.22.0 (go 1.26.0).
#
# Cost of a cold run, measured on the 2-core/24 GiB test machine (empty module cache, Go build
# cache holding only the standard library): 10m42s wall in all, one binary after the other:
#   etcd 51s, kwok 85s, helm 78s, kube-apiserver 320s (includes `go mod tidy` of the Kubernetes
#   wrapper), kube-controller-manager 101s, kube-scheduler 7s (its packages were already built).
# It leaves about 7.3 GB under $MEGANET_CACHE: go/build 5.0 GB, go/mod 1.9 GB, binaries 0.45 GB.
# A warm re-run takes under a second.
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
HELM_VERSION="${MEGANET_HELM_VERSION:-v3.22.0}"
MIN_GO_MINOR=26 # all four go.mod files above say `go 1.26.0`

cache="${MEGANET_CACHE:-$HOME/.cache/meganet}"
bindir="$cache/bin"

log() { echo "provision: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# --- Go toolchain and environment -----------------------------------------------------------
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
  PATH="/usr/local/go/bin:$PATH"
fi

need_go() {
  command -v go >/dev/null 2>&1 || die "go not found; install Go >= 1.$MIN_GO_MINOR or set the MEGANET_* binary paths"
  local v minor
  v="$(go env GOVERSION)" # e.g. go1.26.8
  minor="${v#go1.}"
  minor="${minor%%[.a-z]*}"
  if ((minor < MIN_GO_MINOR)); then
    die "$v is too old: the pinned versions need go1.$MIN_GO_MINOR (or export GOTOOLCHAIN=go1.$MIN_GO_MINOR.x to fetch one)"
  fi
}

go_env_ready=0
setup_go_env() {
  ((go_env_ready)) && return 0
  go_env_ready=1
  need_go
  export GOMODCACHE="$cache/go/mod" GOCACHE="$cache/go/build" CGO_ENABLED=0
  # The wrapper modules are tidied, so the go command may update their go.mod/go.sum.
  local flags
  flags="$(go env GOFLAGS)"
  export GOFLAGS="${flags:+$flags }-mod=mod"
  check_sumdb
  mkdir -p "$GOMODCACHE" "$GOCACHE"
}

# Does the checksum database answer? The go command first asks each proxy in GOPROXY for
# <proxy>/sumdb/<name>/supported and falls back to https://<name>/ itself.
check_sumdb() {
  local db name proxy
  db="$(go env GOSUMDB)"
  [[ "$db" == off ]] && { log "GOSUMDB=off already set: module checksums are not checked against sum.golang.org"; return 0; }
  name="${db%%[+ ]*}"
  if ! command -v curl >/dev/null 2>&1; then
    log "curl not found: not testing the checksum database ($name); if go fails on it, rerun with GOSUMDB=off"
    return 0
  fi
  local IFS=',|'
  for proxy in $(go env GOPROXY); do
    [[ "$proxy" == direct || "$proxy" == off || -z "$proxy" ]] && continue
    if curl -fsS -m 20 -o /dev/null "${proxy%/}/sumdb/$name/supported" 2>/dev/null; then
      return 0
    fi
  done
  if curl -fsS -m 20 -o /dev/null "https://$name/latest" 2>/dev/null; then
    return 0
  fi
  # Unreachable: without this every `go mod tidy` fails with "verifying module: ... dial tcp".
  export GOSUMDB=off GONOSUMDB='*'
  log "checksum database $name unreachable (directly and through GOPROXY): GOSUMDB=off, downloads are not verified against it"
}

# --- helpers ---------------------------------------------------------------------------------
mkdir -p "$bindir"
work="$(mktemp -d "$bindir/.provision.XXXXXX")" # same filesystem as the cache: `mv` is atomic
trap 'rm -rf "$work"' EXIT

# One run at a time per cache (tests started in parallel would otherwise build twice).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$bindir/.provision.lock"
  flock 9
fi

# The go command's chatter ("go: downloading ...", hundreds of lines) goes to a log file, shown
# only when a step fails.
logfile="$work/go.log"
quiet() {
  "$@" >>"$logfile" 2>&1 && return 0
  local rc=$?
  log "failed ($rc): $*"
  tail -n 40 "$logfile" >&2
  return "$rc"
}
gobuild() { quiet nice -n 19 go build -p 1 -trimpath "$@"; }

# new_wrapper DIR MODULE@VERSION: a throwaway module that requires MODULE at VERSION.
new_wrapper() {
  local dir="$1" req="$2"
  mkdir -p "$dir"
  (cd "$dir" && quiet go mod init "meganet.invalid/provision/$(basename "$dir")" &&
    go mod edit -require="$req")
}

# tidy_wrapper DIR PKG...: blank-imports PKG... (build tag `tools`, so main packages are fine)
# and resolves the module graph.
tidy_wrapper() {
  local dir="$1" p
  shift
  {
    echo "//go:build tools"
    echo
    echo "package tools"
    echo
    echo "import ("
    for p in "$@"; do echo "	_ \"$p\""; done
    echo ")"
  } >"$dir/tools.go"
  (cd "$dir" && quiet nice -n 19 go mod tidy)
}

# check_version BINARY EXPECTED ARGS...: runs BINARY ARGS..., requires EXPECTED in the output.
check_version() {
  local bin="$1" want="$2" out
  shift 2
  out="$("$bin" "$@" 2>&1)" || die "$bin $* failed: $out"
  [[ "$out" == *"$want"* ]] || die "$bin $* printed '$out', expected '$want'"
  if [[ "$out" == *v0.0.0* ]]; then die "$bin $* printed '$out' (version flags were not applied)"; fi
  echo "$out" | head -n 3 | tr '\n' ' ' | sed 's/ *$//'
}

declare -A PATHS=() VERSION_OUT=()
# resolve NAME ENVVAR TARGET BUILDER EXPECTED VERSION_ARGS...
resolve() {
  local name="$1" envvar="$2" target="$3" builder="$4" want="$5" given status start
  shift 5
  given="${!envvar:-}"
  if [[ -n "$given" ]]; then
    [[ -x "$given" ]] || die "$envvar=$given is not an executable file"
    PATHS[$name]="$given"
    status="from env $envvar"
    want="" # whatever version the user brought
  elif [[ -x "$target" ]]; then
    PATHS[$name]="$target"
    status="cached"
  else
    setup_go_env
    log "$name: building $(basename "$(dirname "$target")") (once) ..."
    start=$SECONDS
    local tmp="$work/$name.out"
    "$builder" "$tmp"
    check_version "$tmp" "$want" "$@" >/dev/null
    mkdir -p "$(dirname "$target")"
    mv -f "$tmp" "$target"
    PATHS[$name]="$target"
    status="built in $((SECONDS - start))s"
  fi
  VERSION_OUT[$name]="$(check_version "${PATHS[$name]}" "$want" "$@")"
  log "$name: $status: ${PATHS[$name]} ($(printf '%s' "${VERSION_OUT[$name]}"))"
}

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
  local dir="$work/helm" cg minor ld p
  new_wrapper "$dir" "helm.sh/helm/v3@$HELM_VERSION"
  tidy_wrapper "$dir" helm.sh/helm/v3/cmd/helm
  # Like helm's Makefile: the default .Capabilities.KubeVersion (and the deprecation lint) follow
  # the client-go that helm is built with; otherwise they say v1.20.
  cg="$(cd "$dir" && go list -m -f '{{.Version}}' k8s.io/client-go)" # v0.35.1
  minor="${cg#v0.}"
  minor="${minor%%.*}"
  ld="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  for p in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    ld+=" -X $p.k8sVersionMajor=1 -X $p.k8sVersionMinor=$minor"
  done
  (cd "$dir" && gobuild -ldflags "$ld" -o "$1" helm.sh/helm/v3/cmd/helm)
}

# Kubernetes: k8s.io/kubernetes cannot be `go install`ed (its go.mod replaces the staging modules
# k8s.io/api, client-go, ... with ./staging folders). The wrapper requires it and replaces each
# staging module with the published k8s.io/<m> v0.<minor>.<patch>; the list is read from that
# release's go.mod, so a new staging module (1.36 added cri-streaming) is picked up by itself.
kube_dir=""
kube_wrapper() {
  [[ -n "$kube_dir" ]] && return 0
  local dir="$work/kube" gomod m staging_version="v0.${KUBE_VERSION#v1.}"
  new_wrapper "$dir" "k8s.io/kubernetes@$KUBE_VERSION"
  gomod="$(cd "$dir" && go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" 2>>"$logfile" |
    sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p' || true)"
  [[ -f "$gomod" ]] || die "could not download k8s.io/kubernetes@$KUBE_VERSION's go.mod"
  local -a staging
  mapfile -t staging < <(sed -n -E 's#^(replace)?[[:space:]]*(k8s\.io/[^[:space:]]+)[[:space:]]+=>[[:space:]]+\./staging/.*#\2#p' "$gomod" | sort -u)
  ((${#staging[@]} >= 20)) || die "found only ${#staging[@]} staging replaces in $gomod"
  for m in "${staging[@]}"; do
    (cd "$dir" && go mod edit -replace="$m=$m@$staging_version")
  done
  log "kubernetes: ${#staging[@]} staging modules replaced with $staging_version"
  tidy_wrapper "$dir" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler
  kube_dir="$dir"
}

build_kube() { # build_kube CMD OUT
  kube_wrapper
  local minor="${KUBE_VERSION#v1.}" ld="-s -w" p
  minor="${minor%%.*}"
  # Without these, /version and --version say v0.0.0 (and clients warn about the skew).
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  (cd "$kube_dir" && gobuild -ldflags "$ld" -o "$2" "k8s.io/kubernetes/cmd/$1")
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
