# Vigil build. Tools are pinned and installed with `go install` into ./bin.
GO ?= go
BIN := $(CURDIR)/bin
export PATH := $(BIN):$(PATH)


BUF_VERSION                := v1.75.0
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2

BUF      := $(BIN)/.buf-$(BUF_VERSION)
PGO      := $(BIN)/.protoc-gen-go-$(PROTOC_GEN_GO_VERSION)
PGOGRPC  := $(BIN)/.protoc-gen-go-grpc-$(PROTOC_GEN_GO_GRPC_VERSION)

.PHONY: all tools build version generate check-generated lint test test-short demo bench bench-compare eval fuzz fuzz-short load dogfood clean

all: build

$(BUF):
	GOBIN=$(BIN) $(GO) install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
	@touch $@
$(PGO):
	GOBIN=$(BIN) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	@touch $@
$(PGOGRPC):
	GOBIN=$(BIN) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	@touch $@

tools: $(BUF) $(PGO) $(PGOGRPC)

# A commit tagged vX.Y.Z builds as X.Y.Z; any other build says it is
# X.Y.Z-dev (pkg/version/VERSION) with its commit, and .dirty when the
# work tree has changes.
RELEASE_TAG := $(shell git describe --tags --exact-match --match 'v[0-9]*' 2>/dev/null)
COMMIT      := $(shell git rev-parse --short=12 HEAD 2>/dev/null)$(shell git diff --quiet HEAD 2>/dev/null || echo .dirty)
VERSION     := $(if $(RELEASE_TAG),$(RELEASE_TAG:v%=%),$(shell cat pkg/version/VERSION)-dev$(if $(COMMIT),+$(COMMIT)))
LDFLAGS     := -s -w -X github.com/vigilsec/vigil/pkg/version.Version=$(VERSION)

build:
	$(GO) build -trimpath -ldflags="$(LDFLAGS)" -o $(BIN)/ ./cmd/vigil ./server/cmd/vigil-server ./agent/cmd/vigil-agent ./agent/cmd/vigil-agent-scan

# version prints the version make build stamps.
version:
	@echo $(VERSION)

generate: tools
	$(BIN)/buf generate

# Fails when the committed generated code differs from what buf generates.
check-generated: generate
	@if [ -n "$$(git status --porcelain -- pkg/api)" ]; then \
		echo "generated code in pkg/api is stale: run make generate and commit"; git status --short -- pkg/api; exit 1; fi

lint: tools
	$(BIN)/buf lint
	$(GO) mod tidy -diff
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# The first run on a machine also builds a kube-apiserver and etcd for the
# live-cluster test (about 12 minutes on 2 cores), cached in the user cache.
test: check-generated
	$(GO) test -count=1 -timeout 40m ./...

test-short:
	$(GO) test -short ./...

demo: build
	./deploy/demo.sh

bench:
	./deploy/bench.sh

# Secrets and Go SAST beside gitleaks and gosec on the same input.
bench-compare:
	./deploy/bench-compare.sh

# Vigil's own deployment must pass Vigil's checks: no HIGH or CRITICAL
# finding (documented exemptions aside).
# dogfood scans the deployment files, and the Helm chart as Helm renders it
# (default values, and a one-node NATS).
dogfood: build
	$(BIN)/vigil scan deploy/ --severity high --exit-code 1 --format table
	$(GO) run ./deploy/helm/render > $(BIN)/chart.yaml
	$(BIN)/vigil scan $(BIN)/chart.yaml --severity high --exit-code 1 --format table
	$(GO) run ./deploy/helm/render --set nats.replicas=1 > $(BIN)/chart-small.yaml
	$(BIN)/vigil scan $(BIN)/chart-small.yaml --severity high --exit-code 1 --format table

# Every fuzz target for a minute each (FUZZTIME=10m make fuzz for longer).
fuzz:
	FUZZTIME=$${FUZZTIME:-60s} ./deploy/fuzz.sh

# Every fuzz target for a few seconds: what CI runs.
fuzz-short:
	FUZZTIME=3s ./deploy/fuzz.sh

# 1,000 agents publishing 1,000,000 findings into one server on loopback,
# with queries running: ingest rate, ack latency, query p50/p99.
load:
	$(GO) test -tags load -run TestLoad -count=1 -timeout 60m -v ./server

# eval scores the checks on the labelled corpora and fails below the
# recorded floors or when a corpus is missing.
CORPUS ?= ../shared/corpus
eval:
	$(GO) run ./integration/eval --corpus $(CORPUS) --floors integration/eval/floors.json

clean:
	rm -rf $(BIN)
