#!/usr/bin/env bash
# Creates Vigil's trust and the Secrets the manifests mount, for the
# namespace vigil (server, NATS, cluster agent) and vigil-node (node
# agents). The CA key and the NATS seeds stay in TRUST_DIR-signing on this
# machine, never in the cluster: issue, revoke and rotate credentials from
# here, then run this script again to update the Secrets (the server pushes
# a revocation to NATS as soon as its mounted account.jwt changes).
#
#   TENANT=acme TRUST_DIR=./vigil-trust ./make-secrets.sh
set -euo pipefail
tenant="${TENANT:?set TENANT to the tenant this cluster reports for}"
dir="${TRUST_DIR:-./vigil-trust}"
cluster_id="${CLUSTER_AGENT_ID:-cluster}"
server=(vigil-server vigil-server.vigil vigil-server.vigil.svc)
nats=(nats nats.vigil nats.vigil.svc nats-0.nats-cluster nats-1.nats-cluster nats-2.nats-cluster)
hosts=()
for h in "${server[@]}" "${nats[@]}"; do hosts+=(--host "$h"); done

if [ ! -f "$dir/trust/ca.pem" ]; then
	vigil-server init --data-dir "$dir" "${hosts[@]}"
fi
t="$dir/trust"
vigil-server agent-credentials --data-dir "$dir" --tenant "$tenant" --id "$cluster_id" --out "$dir/agent-cluster"
vigil-server agent-credentials --data-dir "$dir" --tenant "$tenant" --any-id --out "$dir/agent-node"

kubectl create namespace vigil --dry-run=client -o yaml | kubectl apply -f -
kubectl create namespace vigil-node --dry-run=client -o yaml | kubectl apply -f -
apply() { kubectl create secret generic "$@" --dry-run=client -o yaml | kubectl apply -f -; }
# The server serves with these; no CA key, no account seed.
apply vigil-server-trust -n vigil \
	--from-file="$t/ca.pem" --from-file="$t/server.pem" --from-file="$t/server-key.pem" \
	--from-file="$t/server.creds" --from-file="$t/system.creds" --from-file="$t/tokens.json" --from-file="$t/revoked.json" \
	--from-file="$t/operator.jwt" --from-file="$t/account.jwt" --from-file="$t/system.jwt"
apply nats-trust -n vigil \
	--from-file="$t/ca.pem" --from-file="$t/server.pem" --from-file="$t/server-key.pem" --from-file="$t/nats-auth.conf"
apply vigil-agent-cluster -n vigil --from-file="$dir/agent-cluster"
apply vigil-agent-node -n vigil-node --from-file="$dir/agent-node"
echo "Secrets created. Next: kubectl apply -k deploy/kubernetes/base (or overlays/small)"
echo "Tokens: vigil-server token --data-dir $dir --name NAME --role viewer --tenant $tenant,"
echo "then re-run this script (or update the tokens.json key of vigil-server-trust)."
echo "Revoke with: vigil-server revoke agent --data-dir $dir --tenant $tenant --id ID, then re-run this script."
