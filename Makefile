# dsqlenv: `make test` is what CI runs (.ci/run); `make demo` shows the main job on a fresh machine.
GO      ?= go
BIN     ?= bin/dsqlenv
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# The commit and its date (not the build's: a rebuild gives the same binary), for --version.
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
DATE    ?= $(shell TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null)
LDFLAGS := -s -w -X github.com/dsqlenv/dsqlenv/internal/cli.version=$(VERSION) \
	-X github.com/dsqlenv/dsqlenv/internal/cli.commit=$(COMMIT) -X github.com/dsqlenv/dsqlenv/internal/cli.date=$(DATE)
# urfave/cli's man-page and markdown generators (and their blackfriday init, ~1 ms a start)
# are left out: dsqlenv never uses them.
TAGS    := urfave_cli_no_docs

# AWS's documented example keys: a token signed with them is a real SigV4 signature that opens
# no real cluster. The rest keeps a developer's own AWS setup out of the demo.
DEMO_ENV := env -u AWS_PROFILE -u AWS_SESSION_TOKEN -u AWS_DEFAULT_PROFILE \
	AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE \
	AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY \
	AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

.PHONY: build demo test wintest test-tools lint shellcheck tidy cross fuzz bench gobench install release release-check clean

build:
	$(GO) build -trimpath -tags $(TAGS) -ldflags '$(LDFLAGS)' -o $(BIN) .

# The demo runs with a throwaway HOME and XDG directories: the bundled root certificate it
# writes goes there, not into the user's real ~/.local/share.
demo: build
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	  export HOME=$$tmp XDG_CONFIG_HOME=$$tmp/config XDG_CACHE_HOME=$$tmp/cache XDG_DATA_HOME=$$tmp/data XDG_STATE_HOME=$$tmp/state; \
	  echo '# dsqlenv bash demo   (profile from testdata/demo.yaml, AWS example keys)' >&2; \
	  $(DEMO_ENV) ./$(BIN) --config testdata/demo.yaml bash demo && \
	  echo '# dsqlenv powershell demo' >&2 && \
	  $(DEMO_ENV) ./$(BIN) --config testdata/demo.yaml powershell demo

# Each step runs in this order; a failing step stops the rest. -timeout 20m is go test's panic
# guard for a machine loaded far past the usual few minutes, not a budget.
test: test-tools lint tidy cross
	$(GO) test -race -count=1 -timeout 20m ./...
	@$(MAKE) --no-print-directory wintest
	@$(MAKE) --no-print-directory fuzz

# The Windows build's tests, cross-compiled and run under wine in the repository's own wine
# prefix (.ci/wine, which .ci/test-tools sets up).
wintest:
	@.ci/wintest

# Installs the shells, PostgreSQL 15 and 18, libpq 18, the npm and Java clients and the linters
# the tests use when it can (as root), and prints one line naming anything still missing.
test-tools:
	@.ci/test-tools

# Every escaper, the profiles parser and the proxy's start-up handling, fuzzed from the corpus
# committed in testdata/fuzz/ (which plain `go test` replays). A failing input is written there: commit it. Each target
# runs a fixed number of inputs, about 10 s each here: a wall-clock -fuzztime can fail with a
# bare "context deadline exceeded" at its end in Go 1.26 (golang/go#75804, fixed in 1.27).
# FUZZTIME=30s (or 1000000x) overrides every budget.
FUZZTIME ?=
FUZZ := emit:FuzzQuotePOSIX:300000x emit:FuzzQuoteFish:300000x emit:FuzzQuotePowerShell:60000x \
	emit:FuzzQuoteCmd:300000x emit:FuzzQuoteBat:300000x emit:FuzzQuoteDotenv:100000x \
	pgfile:FuzzMergeService:200000x profiles:FuzzParse:30000x internal/proxy:FuzzStartup:10000x
fuzz:
	@for t in $(FUZZ); do \
	  pkg=$${t%%:*}; rest=$${t#*:}; fn=$${rest%%:*}; budget=$${FUZZTIME:-$${rest#*:}}; \
	  echo "fuzz ./$$pkg $$fn: $$budget"; \
	  $(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $$budget ./$$pkg || exit 1; \
	done

# Start-up cost against the bare SDK and the process floor, with hyperfine (bench/run installs
# it when missing); the table goes in BENCHMARKS.md. `make gobench`: the Go benchmarks.
bench:
	bench/run

gobench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# The platforms dsqlenv ships for; each must at least build.
PLATFORMS := windows/amd64 darwin/arm64 linux/amd64 linux/arm64
cross:
	@for p in $(PLATFORMS); do \
	  echo "go build $$p"; \
	  GOOS=$${p%/*} GOARCH=$${p#*/} $(GO) build -o /dev/null . || exit 1; \
	done

# staticcheck is pinned in .ci/test-tools, which installs it there.
STATICCHECK ?= .cache/bin/staticcheck
lint:
	$(GO) vet ./...
	@out=$$(gofmt -l .); \
	  if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi
	@if [ -x $(STATICCHECK) ]; then echo "staticcheck ./..."; $(STATICCHECK) ./...; \
	  elif [ "$$CI" = true ]; then echo "staticcheck is missing: run .ci/test-tools"; exit 1; \
	  else echo "staticcheck is missing: skipped (run .ci/test-tools)"; fi
	@$(MAKE) --no-print-directory shellcheck

# shellcheck reads the bash hook and completion and the POSIX blocks as the binary prints them
# (blocks for the demo profile, in a throwaway XDG directory); each entry is shellcheck's
# dialect, then dsqlenv's arguments. The output goes through a file, so a dsqlenv that fails
# cannot hand shellcheck an empty, passing input.
SHELLCHECK := 'bash hook bash' 'bash completion bash' 'bash bash --unset' 'sh sh --unset' \
	'bash --config testdata/demo.yaml bash demo' 'sh --config testdata/demo.yaml sh demo'
shellcheck:
	@if ! command -v shellcheck >/dev/null; then \
	  if [ "$$CI" = true ]; then echo "shellcheck is missing: run .ci/test-tools"; exit 1; fi; \
	  echo "shellcheck is missing: skipped (run .ci/test-tools)"; exit 0; fi; \
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(GO) build -o $$tmp/dsqlenv . || exit 1; \
	export XDG_CONFIG_HOME=$$tmp/config XDG_CACHE_HOME=$$tmp/cache XDG_DATA_HOME=$$tmp/data XDG_STATE_HOME=$$tmp/state; \
	for c in $(SHELLCHECK); do \
	  set -- $$c; sh=$$1; shift; echo "shellcheck -s $$sh: dsqlenv $$*"; \
	  $(DEMO_ENV) $$tmp/dsqlenv "$$@" >$$tmp/out || { cat $$tmp/out; exit 1; }; \
	  shellcheck -s $$sh $$tmp/out || exit 1; \
	done

# go.mod and go.sum must be what `go mod tidy` makes; -diff prints the difference and changes
# nothing.
tidy:
	$(GO) mod tidy -diff

# The release archives, Linux packages, package manager manifests and checksums, into dist/
# (.ci/goreleaser.yaml), as a snapshot: nothing is published. Offline once the module cache
# holds goreleaser, pinned in the tools module internal/tools (no dependency of dsqlenv's).
# goreleaser reads the commit and its date only when the checkout names a remote (else it stamps
# "none" and the year 1): a checkout without one gets the project's URL for this run alone.
release:
	@if [ -z "$$(git remote)" ]; then export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=remote.origin.url \
	  GIT_CONFIG_VALUE_0=https://github.com/dsqlenv/dsqlenv; fi; \
	set -x; $(GO) tool -modfile=internal/tools/go.mod goreleaser release --config .ci/goreleaser.yaml --snapshot --clean

# Builds the release twice and checks it: checksums, the packages' files, the binaries run
# (the Windows one under wine), byte-identical builds. .ci/run runs it after make test.
release-check:
	.ci/release-check

install:
	$(GO) install -trimpath -tags $(TAGS) -ldflags '$(LDFLAGS)' .

clean:
	rm -rf bin dist
