# Shared by provision.sh and provision-node.sh (sourced, not run): a Go environment whose module
# and build caches live under $MEGANET_CACHE/go, throwaway wrapper modules, and `resolve`, which
# takes a binary from its MEGANET_* variable, else from the cache, else builds it once.
# The sourcing script sets `cache`, `bindir`, `lock_name` and MIN_GO_MINOR first.
# shellcheck shell=bash

log() { echo "${log_prefix:-provision}: $*" >&2; }
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
  exec 9>"$bindir/${lock_name:-.provision.lock}"
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
gobuild() { quiet go build -trimpath "$@"; }

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
  (cd "$dir" && quiet go mod tidy)
}

# check_version BINARY EXPECTED ARGS...: runs BINARY ARGS..., requires EXPECTED in the output.
check_version() {
  local bin="$1" want="$2" out
  shift 2
  out="$("$bin" "$@" 2>&1)" || die "$bin $* failed: $out"
  [[ "$out" == *"$want"* ]] || die "$bin $* printed '$out', expected '$want'"
  if [[ "$out" == *v0.0.0* ]]; then die "$bin $* printed '$out' (version flags were not applied)"; fi
  # sed reads all of it: `head` would close the pipe early and fail a long usage text under pipefail.
  printf '%s\n' "$out" | sed -n '1,3p' | tr '\n' ' ' | sed 's/ *$//'
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


# --- the cluster tools: one module, one `go build` ---------------------------------------------
# Every Go binary of the test cluster (provision.sh's control plane and helm, provision-node.sh's
# kubelet, kube-proxy and CoreDNS) comes from one wrapper module and one `go build`. They share
# much (client-go, apimachinery, grpc, protobuf, OpenTelemetry, golang.org/x/...); in one module
# the go command picks one version of each (the highest any of them requires), so each shared
# package compiles once. Built in separate modules, each tool pinned slightly different versions,
# and a package compiles again for every set of versions below it: helm, built after the
# Kubernetes binaries with the same k8s.io versions, still cost 338 CPU-seconds.
# Cost cold (empty build cache), 2026-12-06, on the 2-core test machine: this one build took
# 1,632 CPU-seconds (user 1,240, sys 392), against 2,482 for the same tools built in separate
# modules in a CI run that day (Kubernetes and CoreDNS 1,627, etcd, kwok and helm 855); the two
# ran side by side, so the wall times (39 and 41 minutes) say little. A warm re-run: under a second.
# Their go.mod files say `go 1.26.0`; versions can be overridden with MEGANET_<TOOL>_VERSION:
#   Kubernetes v1.37.2: the newest release served on the proxy. k8s.io/kubernetes cannot be
#     `go install`ed (its go.mod replaces the staging modules k8s.io/api, client-go, ... with
#     ./staging folders): the wrapper replaces each with the published k8s.io/<m> v0.<minor>.<patch>,
#     the list read from that release's go.mod, so a new staging module is picked up by itself.
#   etcd v3.7.3: the 3.7 line, whose client (v3.7.0) Kubernetes 1.37 itself uses; 3.6.16 built with
#     3.7's api and client modules would mix two releases. server/v3's go.mod has relative
#     `replace` lines, so it cannot be `go install`ed either; required by the wrapper, it builds.
#   kwok v0.8.0 (client-go v0.36.1 in its own go.mod, v0.37.2 here).
#   helm v4.3.2 (k8s.io modules at v0.37.2 already): Helm 3 had its last security release in
#     November 2026, and the proxy here serves v3.22.0 but does not approve it.
#   CoreDNS v1.15.0 with only the plugins the test node's Corefile uses (kubernetes, errors,
#     health, ready, cache, log): its own main imports every plugin (cloud DNS providers and all).
KUBE_VERSION="${MEGANET_KUBE_VERSION:-v1.37.2}"
ETCD_VERSION="${MEGANET_ETCD_VERSION:-v3.7.3}"
KWOK_VERSION="${MEGANET_KWOK_VERSION:-v0.8.0}"
HELM_VERSION="${MEGANET_HELM_VERSION:-v4.3.2}"
COREDNS_VERSION="${MEGANET_COREDNS_VERSION:-v1.15.0}"
COREDNS_PLUGINS=(kubernetes errors health ready cache log)
# Package to build, by binary name.
declare -A CLUSTER_TOOLS=(
  [kube-apiserver]=k8s.io/kubernetes/cmd/kube-apiserver
  [kube-controller-manager]=k8s.io/kubernetes/cmd/kube-controller-manager
  [kube-scheduler]=k8s.io/kubernetes/cmd/kube-scheduler
  [kubelet]=k8s.io/kubernetes/cmd/kubelet
  [kube-proxy]=k8s.io/kubernetes/cmd/kube-proxy
  [etcd]=go.etcd.io/etcd/server/v3
  [kwok]=sigs.k8s.io/kwok/cmd/kwok
  [helm]=helm.sh/helm/v4/cmd/helm
  [coredns]=meganet.invalid/provision/cluster-tools/coredns
)
# The binaries' folder, named for everything they are built from: a changed version anywhere
# changes the others' dependencies too.
cluster_tools_dir() {
  local key
  key="$(printf '%s\n' "$KUBE_VERSION" "$ETCD_VERSION" "$KWOK_VERSION" "$HELM_VERSION" "$COREDNS_VERSION" \
    "${COREDNS_PLUGINS[*]}" | sha256sum | cut -c1-12)"
  echo "$bindir/cluster-tools-$key"
}

cluster_tools_wrapper() { # DIR: a wrapper module there, tidied, ready to build
  local dir="$1" gomod m p staging_version="v0.${KUBE_VERSION#v1.}"
  new_wrapper "$dir" "k8s.io/kubernetes@$KUBE_VERSION"
  (cd "$dir" && go mod edit -require="go.etcd.io/etcd/server/v3@$ETCD_VERSION" -require="sigs.k8s.io/kwok@$KWOK_VERSION" \
    -require="helm.sh/helm/v4@$HELM_VERSION" -require="github.com/coredns/coredns@$COREDNS_VERSION")
  gomod="$(cd "$dir" && go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" 2>>"$logfile" |
    sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p' || true)"
  [[ -f "$gomod" ]] || die "could not download k8s.io/kubernetes@$KUBE_VERSION's go.mod"
  local -a staging
  mapfile -t staging < <(sed -n -E 's#^(replace)?[[:space:]]*(k8s\.io/[^[:space:]]+)[[:space:]]+=>[[:space:]]+\./staging/.*#\2#p' "$gomod" | sort -u)
  ((${#staging[@]} >= 20)) || die "found only ${#staging[@]} staging replaces in $gomod"
  for m in "${staging[@]}"; do
    (cd "$dir" && go mod edit -replace="$m=$m@$staging_version")
  done
  log "cluster tools: ${#staging[@]} Kubernetes staging modules replaced with $staging_version"
  mkdir -p "$dir/coredns"
  {
    echo "package main"
    echo
    echo "import ("
    echo "	\"github.com/coredns/coredns/coremain\""
    for p in "${COREDNS_PLUGINS[@]}"; do echo "	_ \"github.com/coredns/coredns/plugin/$p\""; done
    echo ")"
    echo
    echo "func main() { coremain.Run() }"
  } >"$dir/coredns/main.go"
  local -a external=()
  for p in "${CLUSTER_TOOLS[@]}"; do [[ "$p" == meganet.invalid/* ]] || external+=("$p"); done
  tidy_wrapper "$dir" "${external[@]}"
}

build_cluster_tools() { # build_cluster_tools BINARY OUT: all of CLUSTER_TOOLS at once, unless another run did
  local dest c
  dest="$(cluster_tools_dir)"
  exec 8>"$dest.lock"
  flock 8
  if [[ ! -x "$dest/$1" ]]; then
    local dir="$work/cluster-tools" minor="${KUBE_VERSION#v1.}" ld="-s -w" p
    cluster_tools_wrapper "$dir"
    minor="${minor%%.*}"
    # Without these, /version and --version say v0.0.0 (and clients warn about the skew).
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ld+=" -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
    done
    ld+=" -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}"
    # As helm's Makefile does for a release. The default .Capabilities.KubeVersion follows the
    # k8s.io/client-go in the binary's build info (v0.37.2: Kubernetes v1.37), no flag needed.
    ld+=" -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION -X helm.sh/helm/v4/internal/version.gitTreeState=clean"
    mkdir -p "$work/cluster-bin" "$dest"
    local -a pkgs=()
    for c in "${!CLUSTER_TOOLS[@]}"; do pkgs+=("${CLUSTER_TOOLS[$c]}"); done
    (cd "$dir" && gobuild -ldflags "$ld" -o "$work/cluster-bin/" "${pkgs[@]}")
    # `go build -o DIR/` names a binary after its package's last element (a major version suffix
    # such as etcd's /v3 dropped).
    mv -f "$work/cluster-bin/server" "$work/cluster-bin/etcd"
    for c in "${!CLUSTER_TOOLS[@]}"; do
      [[ -x "$dest/$c" ]] || mv -f "$work/cluster-bin/$c" "$dest/$c"
    done
  fi
  cp "$dest/$1" "$2"
  flock -u 8
}
