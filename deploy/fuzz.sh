#!/usr/bin/env bash
# Runs every fuzz target of the module for FUZZTIME each (default 60s).
# New inputs that fail are written under the package's testdata/fuzz and
# replayed by `go test` from then on.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${FUZZTIME:-60s}"
failed=0
count=0
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	targets=$(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u || true)
	[ -z "$targets" ] && continue
	for target in $targets; do
		count=$((count + 1))
		printf '%-60s %s ' "$pkg" "$target"
		out=$(go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" 2>&1) && status=0 || status=$?
		# The fuzzing engine itself sometimes ends a short run with "context
		# deadline exceeded" and no failing input; that says nothing of the
		# target, so it is run once more. A real failure writes its input.
		if [ "$status" -ne 0 ] && grep -q 'context deadline exceeded' <<<"$out" && ! grep -q 'Failing input written' <<<"$out"; then
			printf '(engine timeout, again) '
			out=$(go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" 2>&1) && status=0 || status=$?
		fi
		if [ "$status" -eq 0 ]; then
			echo ok
		else
			echo FAIL
			echo "$out" | tail -30
			failed=$((failed + 1))
		fi
	done
done
echo "$count fuzz targets, $failed failed ($fuzztime each)"
[ "$failed" -eq 0 ]
