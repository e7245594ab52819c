#!/usr/bin/env bash
# Secrets and Go SAST on the same input as gitleaks and gosec: wall time,
# CPU time and peak memory of each, and the number of findings.
#   deploy/bench-compare.sh [SECRETS_TREE] [GO_MODULE]
# Defaults: the golang.org part of the Go module cache, and a copy of
# golang.org/x/tools from it.
set -euo pipefail
cd "$(dirname "$0")/.."
GITLEAKS_VERSION=v8.30.1
GOSEC_VERSION=v2.30.0
bin=$(go env GOPATH)/bin
[ -x "$bin/gitleaks" ] || go install "github.com/zricethezav/gitleaks/v8@$GITLEAKS_VERSION"
[ -x "$bin/gosec" ] || go install "github.com/securego/gosec/v2/cmd/gosec@$GOSEC_VERSION"
tree=${1:-$(go env GOMODCACHE)/golang.org}
module=${2:-}
if [ -z "$module" ]; then
	src=$(ls -d "$(go env GOMODCACHE)"/golang.org/x/tools@* | tail -1)
	module=$(mktemp -d)
	trap 'rm -rf "$module"' EXIT
	cp -r "$src"/. "$module" && chmod -R u+w "$module"
fi
go build -o /tmp/vigil-bench ./cmd/vigil
out=$(mktemp -d)
size=$(du -sb "$tree" | cut -f1)
measure() { /usr/bin/time -f "%e s wall, %U s user, %M KB peak" "$@" 2>&1 >/dev/null | tail -1; }
# into is measure with the command's output kept in a file.
into() { local f=$1; shift; /usr/bin/time -f "%e s wall, %U s user, %M KB peak" "$@" 2>&1 >"$f" | tail -1; }
# rate adds the throughput over the tree to a measure line.
rate() { awk -v size="$size" '{ printf "%s, %.1f MB/s\n", $0, size / 1e6 / $1 }'; }
# Read the tree once so that neither tool pays for a cold page cache.
find "$tree" -type f -exec cat {} + > /dev/null 2>&1 || true
echo "==> secrets on $tree ($((size / 1048576)) MiB)"
echo "vigil:    $(into "$out/vigil.json" /tmp/vigil-bench scan --scanners secrets -f json -- "$tree" | rate), $(grep -o '"check_id"' "$out/vigil.json" | wc -l) findings"
echo "gitleaks: $(measure "$bin/gitleaks" dir "$tree" --no-banner --exit-code 0 --report-format json --report-path "$out/gl.json" | rate), $(grep -o '"RuleID"' "$out/gl.json" | wc -l) findings"
# Both analyzers type-check against the module's dependencies: fetch them
# first, so that neither loses packages to a missing import.
(cd "$module" && go mod download) || echo "go mod download failed: packages importing what is missing are not assessed"
echo "==> Go SAST on $module"
# The first run in a folder also has the go command build the export data
# of the module's packages; later runs find it in the build cache.
sast() { (cd "$module" && into "$out/vigil-sast.json" /tmp/vigil-bench scan --scanners sast-go -f json "$@" .); }
counts() { echo "$(grep -o '"check_id"' "$out/vigil-sast.json" | wc -l) findings, $(grep -o '"error"' "$out/vigil-sast.json" | wc -l) folders not assessed"; }
echo "vigil, first run:                $(sast), $(counts)"
echo "vigil, again:                    $(sast), $(counts)"
echo "vigil, again, --max-memory 100Mi: $(sast --max-memory 100Mi), $(counts)"
echo "gosec:                           $(cd "$module" && GOFLAGS=-mod=mod GOPROXY=off measure "$bin/gosec" -quiet -fmt json -out "$out/gosec.json" ./...), $(grep -o '"rule_id"' "$out/gosec.json" | wc -l) findings"
rm -rf "$out"
