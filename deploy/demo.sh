#!/usr/bin/env bash
# make demo: a server with embedded NATS in a temporary data dir, one agent
# scanning examples/, the fleet summary and the high-severity findings
# through the gRPC CLI, then a clean shutdown.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=./bin
GRPC=${VIGIL_DEMO_GRPC:-127.0.0.1:17433}
NATS=${VIGIL_DEMO_NATS:-127.0.0.1:14222}
TENANT=demo
work=$(mktemp -d)
server_pid=""
cleanup() {
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid"
		wait "$server_pid" || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

echo "==> starting vigil-server (embedded NATS on $NATS, gRPC on $GRPC, data in $work/server)"
$BIN/vigil-server --data-dir "$work/server" --grpc-addr "$GRPC" --nats-listen "$NATS" --log-level warn 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 1 100); do
	if $BIN/vigil --server "$GRPC" agents list >/dev/null 2>&1; then break; fi
	if ! kill -0 "$server_pid" 2>/dev/null; then cat "$work/server.log"; exit 1; fi
	sleep 0.1
done

# Vulnerability data: the Go vulnerability database, fetched as a Go module
# (OSV records under data/osv).
VULNDB_VERSION=v0.0.0-20261105234957-e22db6528018
vulndb=$(go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')/data/osv

echo "==> vigil-agent --once scanning examples/ (vulnerability data: $vulndb)"
$BIN/vigil-agent --once --nats-url "nats://$NATS" --tenant "$TENANT" --id demo-agent \
	--data-dir "$work/agent" --log-level warn --vuln-db "$vulndb" examples

want=$($BIN/vigil scan --tenant "$TENANT" --format json --vuln-db "$vulndb" examples | grep -c '"fingerprint"' || true)
echo "==> waiting for the server to ingest $want findings"
for _ in $(seq 1 300); do
	got=$($BIN/vigil --server "$GRPC" findings summary --tenant "$TENANT" --format json | sed -n 's/.*"total": "\{0,1\}\([0-9]*\)"\{0,1\}.*/\1/p')
	[ "${got:-0}" = "$want" ] && break
	sleep 0.1
done
if [ "${got:-0}" != "$want" ]; then
	echo "server holds ${got:-0} findings, expected $want"; cat "$work/server.log"; exit 1
fi

echo
echo "==> fleet summary"
$BIN/vigil --server "$GRPC" findings summary --by-tenant
echo
echo "==> agents"
$BIN/vigil --server "$GRPC" agents list
echo
echo "==> coverage: what each scope assessed"
$BIN/vigil --server "$GRPC" coverage
echo
echo "==> high and critical findings"
$BIN/vigil --server "$GRPC" findings list --severity high
echo
echo "==> shutting down"
kill -TERM "$server_pid"
wait "$server_pid"
server_pid=""
echo "done"
