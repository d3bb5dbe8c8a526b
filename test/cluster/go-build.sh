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


# Kubernetes: k8s.io/kubernetes cannot be `go install`ed (its go.mod replaces the staging modules
# k8s.io/api, client-go, ... with ./staging folders). The wrapper requires it and replaces each
# staging module with the published k8s.io/<m> v0.<minor>.<patch>; the list is read from that
# release's go.mod, so a new staging module (1.36 added cri-streaming) is picked up by itself.
kube_dir=""
# Every Kubernetes command the tests use (provision.sh's control plane, provision-node.sh's node),
# built by one `go build`: they share most of their packages, which then compile once instead of
# once per binary (and twice over when .ci/run runs both scripts at once). KUBE_VERSION is set by
# the sourcing script.
KUBE_ALL_COMMANDS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)
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
  tidy_wrapper "$dir" "${KUBE_ALL_COMMANDS[@]/#/k8s.io/kubernetes/cmd/}"
  kube_dir="$dir"
}

build_kube() { # build_kube CMD OUT: all of KUBE_ALL_COMMANDS at once, unless another run did
  local dest="$bindir/kube-$KUBE_VERSION" c
  exec 8>"$bindir/.kube-$KUBE_VERSION.lock"
  flock 8
  if [[ ! -x "$dest/$1" ]]; then
    kube_wrapper
    local minor="${KUBE_VERSION#v1.}" ld="-s -w" p
    minor="${minor%%.*}"
    # Without these, /version and --version say v0.0.0 (and clients warn about the skew).
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ld+=" -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
    done
    mkdir -p "$work/kube-bin" "$dest"
    (cd "$kube_dir" && gobuild -ldflags "$ld" -o "$work/kube-bin/" "${KUBE_ALL_COMMANDS[@]/#/k8s.io/kubernetes/cmd/}")
    for c in "${KUBE_ALL_COMMANDS[@]}"; do
      [[ -x "$dest/$c" ]] || mv -f "$work/kube-bin/$c" "$dest/$c"
    done
  fi
  cp "$dest/$1" "$2"
  flock -u 8
}
