# Arca: the two commands of the README, and their parts.
#   make run    install dependencies, build, start arcad in the foreground
#   make test   install dependencies, build, unit tests (ASan/UBSan), end-to-end tests
SHELL := /bin/bash
JOBS ?= $(shell nproc)
BUILD_DIR ?= build
ASAN_DIR ?= build-asan
ARCAD_FLAGS ?=

.PHONY: all deps build build-asan run test unit e2e bench coverage-doc clean

all: build

deps:
	@scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS)

build-asan: deps
	@cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DARCA_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_DIR) -j $(JOBS)

run: build
	@scripts/check-root.sh
	exec $(BUILD_DIR)/arcad $(ARCAD_FLAGS)

unit: build-asan
	cd $(ASAN_DIR) && ctest --output-on-failure

e2e: build build-asan
	ARCAD=$(CURDIR)/$(ASAN_DIR)/arcad tests/e2e/run.sh

test: build build-asan
	scripts/gen-api-coverage.sh --check
	cd $(ASAN_DIR) && ctest --output-on-failure
	ARCAD=$(CURDIR)/$(ASAN_DIR)/arcad tests/e2e/run.sh

bench: build
	@scripts/deps.sh bench
	@for b in bench/*.sh; do [ "$$b" = bench/lib.sh ] && continue; echo "== $$b"; $$b || exit 1; done

coverage-doc: build
	scripts/gen-api-coverage.sh

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR)
