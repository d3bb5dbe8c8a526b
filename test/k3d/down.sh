#!/usr/bin/env bash
# Deletes the k3d cluster that up.sh created (with everything in it). The image stays in Docker;
# MEGANET_REMOVE_IMAGE=1 removes it too. Results under test/k3d/results/ are kept.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need docker k3d
if k3d cluster get "$CLUSTER" >/dev/null 2>&1; then
  log "deleting k3d cluster $CLUSTER"
  k3d cluster delete "$CLUSTER"
else
  log "no k3d cluster $CLUSTER: nothing to delete"
fi
if [[ "${MEGANET_REMOVE_IMAGE:-0}" == 1 ]]; then
  if docker image rm "$IMAGE" >/dev/null 2>&1; then log "removed image $IMAGE"; else log "no image $IMAGE"; fi
fi
