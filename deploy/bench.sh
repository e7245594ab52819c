#!/usr/bin/env bash
# make bench: micro-benchmarks, then the end-to-end ingest benchmark at one
# million findings, printed as one table.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "==> micro-benchmarks (check evaluation, fingerprints, image analysis, store upserts)"
go test -run '^$' -bench . -benchmem -benchtime 2s ./pkg/finding ./pkg/secret ./pkg/scan/cloud/terraform ./pkg/scan/cluster ./pkg/scan/container ./pkg/scan/container/image | tee -a "$out" | grep -E '^(Benchmark|ok|FAIL)' || true
echo "==> whole corpora of ../shared/corpus through Scanner.Run (time and peak live heap)"
go test -run '^$' -bench CorpusScan -benchtime 1x -count 3 ./pkg/scan | tee -a "$out" | grep -E '^(Benchmark|ok|FAIL)' || true
go test -run '^$' -bench Upsert -benchtime 1x ./server/store | tee -a "$out" | grep -E '^(Benchmark|ok|FAIL)' || true
echo "==> 10,000 agents: one heartbeat interval written with fsync; the whole list paged over gRPC"
go test -run '^$' -bench 'Heartbeats10k|ListAgents10k' -benchtime 5x ./server | tee -a "$out" | grep -E '^(Benchmark|ok|FAIL)' || true
echo "==> end to end: ${VIGIL_BENCH_SCOPES:-1000} scopes x ${VIGIL_BENCH_PER_SCOPE:-1000} findings through embedded JetStream into bbolt"
go test -run '^$' -bench IngestFleet -benchtime 1x -timeout 30m ./server | tee -a "$out" | grep -E '^(Benchmark|ok|FAIL)' || true
echo "==> bytes per stored finding (a scan of examples/ over 2,000 scopes) and the agent's footprint (VIGIL_BENCH_AGENT_TREE, examples/ by default)"
go test -run '^$' -bench 'StoredBytes|AgentFootprint' -benchtime 1x -timeout 3h ./integration | tee -a "$out" | grep -E '^(Benchmark|ok|FAIL)|bytes/finding in pages|resident set' || true
echo "==> 500 gRPC clients and 20 stalled watchers against one vigil-server (peak RSS)"
go test -run '^$' -bench ServerUnderClients -benchtime 1x -timeout 20m ./integration | tee -a "$out" | grep -E '^(Benchmark|ok|FAIL)' || true
echo "==> secrets and Go SAST beside gitleaks and gosec (pinned versions, same input, same run)"
./deploy/bench-compare.sh | tee -a "$out" | grep -v '^go: downloading' || true
echo
echo "==> summary"
awk '/^Benchmark/ {
	name=$1; sub(/-[0-9]+$/, "", name); printf "%-40s", name;
	for (i = 3; i < NF; i += 2) printf "  %s %s", $i, $(i+1); printf "\n" }' "$out"
grep -E '^(==> secrets|==> Go SAST|vigil[:,]|gitleaks:|gosec:)' "$out" || true
if grep -q '^FAIL' "$out"; then exit 1; fi
