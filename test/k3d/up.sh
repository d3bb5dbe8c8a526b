#!/usr/bin/env bash
# Brings up MegaNet on a local k3d cluster: creates the cluster, builds the repository's image,
# imports it into the cluster's nodes, installs charts/meganet and waits for the default fleet.
#
# Usage: test/k3d/up.sh [extra helm flags...]     e.g. test/k3d/up.sh --set defaultFleet.replicas=5
# Settings (env): MEGANET_K3D_CLUSTER (meganet), MEGANET_K3D_AGENTS (2), MEGANET_NAMESPACE
# (meganet), MEGANET_RELEASE (meganet), MEGANET_IMAGE (meganet:dev), MEGANET_SKIP_BUILD=1 to reuse
# the image already built.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need docker k3d kubectl helm
AGENTS="${MEGANET_K3D_AGENTS:-2}"

if k3d cluster get "$CLUSTER" >/dev/null 2>&1; then
  log "k3d cluster $CLUSTER exists: reusing it"
else
  log "creating k3d cluster $CLUSTER (1 server, $AGENTS agents)"
  # Traefik is not needed: anchors are reached through their own Services.
  k3d cluster create "$CLUSTER" --agents "$AGENTS" --k3s-arg '--disable=traefik@server:*' --wait --timeout 300s
fi

if [[ "${MEGANET_SKIP_BUILD:-0}" != 1 ]]; then
  log "building $IMAGE from $ROOT/Dockerfile"
  docker build -t "$IMAGE" "$ROOT"
fi
docker run --rm --entrypoint node "$IMAGE" -e "require('node:fs').accessSync('/app/operator/dist/main.js')" >/dev/null 2>&1 ||
  die "$IMAGE has no /app/operator/dist/main.js: the chart runs the operator from the same image (see the Dockerfile)"
log "importing $IMAGE into the cluster's nodes"
k3d image import "$IMAGE" --cluster "$CLUSTER"

log "installing $CHART as release $RELEASE in namespace $NAMESPACE"
helm upgrade --install "$RELEASE" "$CHART" --kube-context "$CONTEXT" --namespace "$NAMESPACE" --create-namespace \
  --set image.repository="${IMAGE%:*}" --set image.tag="${IMAGE##*:}" --set image.pullPolicy=Never \
  --set nats.jetstream.fileStore.size=1Gi --set defaultFleet.storage.size=1Gi \
  --wait --timeout 10m "$@"

log "waiting for AnchorFleet $FLEET to be Ready"
kc wait "anchorfleet/$FLEET" --for=condition=Ready --timeout=10m
helm test "$RELEASE" --kube-context "$CONTEXT" --namespace "$NAMESPACE" --timeout 5m
kc get anchorfleet "$FLEET" -o wide
cat >&2 <<NEXT

MegaNet is up. Next:
  kubectl --context $CONTEXT -n $NAMESPACE get anchorfleet $FLEET -o jsonpath='{.status.bootstrap}'
  test/k3d/scale-test.sh 5 20       # 5 anchors, 20 simulated peers, results in test/k3d/results/
  test/k3d/down.sh                  # deletes the cluster
NEXT
