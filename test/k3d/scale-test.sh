#!/usr/bin/env bash
# Scale test on the k3d cluster of up.sh: scales the fleet to N anchors, runs M simulated peers
# (a Job of `meganet peer listen` pods that fetch and verify the signed bootstrap list, join
# through the anchors and hold a relay reservation), samples the fleet while they run, then
# scales back and times the drain. Everything lands in a results directory.
#
# Usage: test/k3d/scale-test.sh [ANCHORS=5] [PEERS=20]
# Settings (env): MEGANET_PEER_SECONDS (120: how long each peer stays), MEGANET_SCALE_BACK (the
# fleet's replicas before the test; 0 keeps N), MEGANET_RESULTS (test/k3d/results/<UTC time>),
# and those of lib.sh.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ANCHORS="${1:-5}"
PEERS="${2:-20}"
PEER_SECONDS="${MEGANET_PEER_SECONDS:-120}"
RESULTS="${MEGANET_RESULTS:-$ROOT/test/k3d/results/$(date -u +%Y%m%dT%H%M%SZ)}"
JOB="meganet-scale-peers"
[[ "$ANCHORS" =~ ^[1-9][0-9]*$ && "$PEERS" =~ ^[1-9][0-9]*$ ]] || die "usage: $0 [ANCHORS >= 1] [PEERS >= 1]"

need kubectl k3d docker
need_cluster
mkdir -p "$RESULTS"
log "results in $RESULTS"

before="$(kc get anchorfleet "$FLEET" -o jsonpath='{.spec.replicas}')"
SCALE_BACK="${MEGANET_SCALE_BACK:-$before}"
image="$(kc get statefulset "$FLEET-anchor" -o jsonpath='{.spec.template.spec.containers[0].image}')"

# 1. Scale up and wait until every anchor is ready and serving.
start=$SECONDS
log "scaling AnchorFleet $FLEET from $before to $ANCHORS anchors"
kc scale anchorfleet "$FLEET" --replicas "$ANCHORS"
kc wait "anchorfleet/$FLEET" --for=jsonpath='{.status.readyReplicas}'="$ANCHORS" --timeout=15m
kc wait "anchorfleet/$FLEET" --for=condition=Ready --timeout=5m
scale_up_seconds=$((SECONDS - start))
log "fleet Ready with $ANCHORS anchors after ${scale_up_seconds}s"

# The anchors' PeerIds, pinned by the peers when they verify the bootstrap list.
trusted="$(kc get anchorfleet "$FLEET" -o jsonpath='{range .status.anchors[*]}{.peerId}{","}{end}')"
trusted="${trusted%,}"
[[ -n "$trusted" ]] || die "the fleet reports no anchor PeerIds (is NATS reachable for the anchors?)"

# 2. M simulated peers, in parallel, each for PEER_SECONDS.
kc delete job "$JOB" --ignore-not-found --wait=true >/dev/null
log "starting $PEERS simulated peers for ${PEER_SECONDS}s"
kc apply -f - >/dev/null <<JOBYAML
apiVersion: batch/v1
kind: Job
metadata:
  name: $JOB
  labels: { app.kubernetes.io/name: meganet-scale-peer, app.kubernetes.io/part-of: meganet }
spec:
  completions: $PEERS
  parallelism: $PEERS
  backoffLimit: 0
  ttlSecondsAfterFinished: 3600
  template:
    metadata:
      labels: { app.kubernetes.io/name: meganet-scale-peer }
    spec:
      restartPolicy: Never
      automountServiceAccountToken: false
      securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: RuntimeDefault } }
      containers:
        - name: peer
          image: $image
          imagePullPolicy: IfNotPresent
          # Each peer leaves after PEER_SECONDS (SIGTERM, SIGKILL 30 s later) and prints its exit
          # status, so the Job completes either way and peers.log tells which failed.
          command: [sh, -c, 'timeout --preserve-status --kill-after=30 "\$0" node /app/node-image/dist/cli/main.js "\$@"; echo "peer exit status \$?"', "$PEER_SECONDS"]
          args: [peer, listen, --bootstrap-url, "http://$FLEET-anchors.$NAMESPACE.svc:9464/bootstrap", --trust, "$trusted", --allow-private-addresses, --log-level, info]
          resources: { requests: { cpu: 20m, memory: 64Mi }, limits: { memory: 256Mi } }
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: [ALL] } }
          volumeMounts: [{ name: tmp, mountPath: /tmp }]
      volumes: [{ name: tmp, emptyDir: {} }]
JOBYAML

# 3. While they run: the fleet's view every 10 s, then one metrics snapshot at the peak.
proxy() { kubectl --context "$CONTEXT" get --raw "/api/v1/namespaces/$NAMESPACE/$1"; }
sample_until=$((SECONDS + PEER_SECONDS - 15))
: >"$RESULTS/fleet-samples.tsv"
printf 'seconds\treadyReplicas\tpeers\treservations\tstoredBytes\tphase\n' >>"$RESULTS/fleet-samples.tsv"
while ((SECONDS < sample_until)); do
  kc get anchorfleet "$FLEET" -o jsonpath='{.status.readyReplicas}{"\t"}{.status.totals.peers}{"\t"}{.status.totals.reservations}{"\t"}{.status.totals.storedBytes}{"\t"}{.status.phase}{"\n"}' |
    sed "s/^/$((SECONDS - start))\t/" >>"$RESULTS/fleet-samples.tsv" || true
  sleep 10
done
mkdir -p "$RESULTS/metrics" "$RESULTS/status"
for pod in $(kc get pods -l "app.kubernetes.io/name=meganet-anchor,app.kubernetes.io/instance=$FLEET" -o jsonpath='{.items[*].metadata.name}'); do
  proxy "pods/$pod:9464/proxy/metrics" >"$RESULTS/metrics/$pod.prom" 2>/dev/null || log "no metrics from $pod"
  proxy "pods/$pod:9464/proxy/status" >"$RESULTS/status/$pod.json" 2>/dev/null || log "no status from $pod"
done
operator_svc="$(kc get svc -l "app.kubernetes.io/name=meganet-operator,app.kubernetes.io/instance=$RELEASE" -o jsonpath='{.items[0].metadata.name}')"
proxy "services/$operator_svc:9465/proxy/metrics" >"$RESULTS/metrics/operator.prom" 2>/dev/null || log "no operator metrics"

# 4. The peers' side: how many joined and became reachable through a relay.
kc wait "job/$JOB" --for=condition=Complete --timeout="$((PEER_SECONDS + 300))s" || log "the peer Job did not complete: see peers.log"
kc logs -l "job-name=$JOB" --tail=-1 --prefix --max-log-requests "$((PEERS + 5))" >"$RESULTS/peers.log" 2>&1 || true
joined="$(grep -c '] peer ' "$RESULTS/peers.log" || true)"
reachable="$(grep '] reachable at ' "$RESULTS/peers.log" | cut -d' ' -f1 | sort -u | wc -l | tr -d ' ')"
failed="$(grep -c 'peer exit status [1-9]' "$RESULTS/peers.log" || true)"

# 5. Scale back: anchors drain (peers moved, blocks handed off) before they go.
kc get anchorfleet "$FLEET" -o yaml >"$RESULTS/fleet-at-peak.yaml"
drain_seconds=""
if [[ "$SCALE_BACK" != 0 && "$SCALE_BACK" != "$ANCHORS" ]]; then
  log "scaling back to $SCALE_BACK anchors (drain before removal)"
  start=$SECONDS
  kc scale anchorfleet "$FLEET" --replicas "$SCALE_BACK"
  kc wait "anchorfleet/$FLEET" --for=jsonpath='{.status.replicas}'="$SCALE_BACK" --timeout=15m
  kc wait "anchorfleet/$FLEET" --for=condition=ScalingDown=False --timeout=5m
  drain_seconds=$((SECONDS - start))
fi

kc get anchorfleet "$FLEET" -o yaml >"$RESULTS/fleet-after.yaml"
kc get pods -o wide >"$RESULTS/pods.txt"
kc get events --sort-by=.lastTimestamp >"$RESULTS/events.txt"
reservations="$(awk '/^meganet_relay_reservations /{s+=$2} END{print s+0}' "$RESULTS"/metrics/*.prom)"
{
  echo "anchors:                 $ANCHORS (fleet Ready after ${scale_up_seconds}s)"
  echo "simulated peers:         $PEERS for ${PEER_SECONDS}s; joined $joined; reachable via relay $reachable; exited with an error $failed"
  echo "relay reservations:      $reservations (sum of meganet_relay_reservations at the peak)"
  echo "scale back to:           $SCALE_BACK${drain_seconds:+ (drained and removed in ${drain_seconds}s)}"
} | tee "$RESULTS/summary.txt"
log "done: $RESULTS"
