# credup — build, test and run. `make demo` runs the whole pipeline locally;
# `make test` is the one test command (CI runs it through .ci/run).

GO        ?= go
PKGS      := ./...
BIN       := bin
# A count, not a duration: duration-based -fuzztime can fail spuriously with
# "context deadline exceeded" at the deadline on Go 1.26 (golang/go#75804).
FUZZTIME  ?= 10000x
ARTIFACTS_DIR ?= $(BIN)/lambda

LAMBDA_BUILD := CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -tags lambda.norpc -ldflags="-s -w"

.PHONY: all build credup demo dev test unit vet fuzz bench lint functions clean \
	build-ValidateFunction build-ApiFunction build-CommitFunction

all: build

build: credup

credup:
	$(GO) build -o $(BIN)/credup ./cmd/credup

demo: credup
	$(BIN)/credup demo

dev: credup
	$(BIN)/credup dev

test: vet unit fuzz

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)

unit:
	$(GO) test -count=1 $(PKGS)

# Short fuzz runs of every fuzz target; run longer by hand, e.g. FUZZTIME=1000000x.
fuzz:
	@set -e; grep -rl --include='*_test.go' '^func Fuzz' . | while read f; do \
		dir=$$(dirname $$f); \
		for fn in $$(grep -o '^func Fuzz[A-Za-z0-9_]*' $$f | sed 's/^func //'); do \
			echo "fuzz $$dir $$fn ($(FUZZTIME))"; \
			$(GO) test -run='^$$' -fuzz="^$$fn\$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=1s $$dir || exit 1; \
		done; \
	done

# Static checks of the commit state machine (npm packages, fetched by npx).
lint:
	npx --yes asl-validator@4.0.0 --json-path statemachine/commit.asl.json
	npx --yes @wmfs/statelint@1.30.0 statemachine/commit.asl.json

bench:
	$(GO) test -run='^$$' -bench=. -benchmem -benchtime=3x ./internal/...

functions: build-ValidateFunction build-ApiFunction build-CommitFunction

build-ValidateFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/validate

build-ApiFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/api

build-CommitFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/commit

clean:
	rm -rf $(BIN) .aws-sam
