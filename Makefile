# Petrel: the two commands of the README, and the steps behind them.
#   make run    install what building and running need, build, start petreld on 127.0.0.1:2525
#   make test   install what is missing, build, run every test (release,
#               fuzz regression, ASan+UBSan)
BUILD_DIR  ?= build
ASAN_DIR   ?= build-asan
BUILD_TYPE ?= RelWithDebInfo
PYTHON     ?= /usr/bin/python3
JOBS       ?= $(shell nproc)

.PHONY: all deps deps-build build run test unit integration test-asan bench clean tidy
.PHONY: fuzz-build fuzz fuzz-regress fuzz-merge

all: build

deps:
	bash scripts/install-deps.sh

deps-build:
	bash scripts/install-deps.sh --build-only

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: deps-build $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Only what building and running need (deps-build, through build): the test
# peers (Postfix, Dovecot, nmap, Chromium...) come with make test.
run: build
	bash scripts/run.sh $(BUILD_DIR)/petreld

unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

integration: build
	PETRELD=$(abspath $(BUILD_DIR))/petreld $(PYTHON) -m pytest -q tests/integration

# Everything CI runs: the release build's unit and integration tests, every
# fuzz target over its corpus plus a short run, and the unit and
# integration tests again under ASan+UBSan.
test: deps build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)
	PETRELD=$(abspath $(BUILD_DIR))/petreld $(PYTHON) -m pytest -q tests/integration
	$(MAKE) fuzz-regress
	$(MAKE) test-asan

$(ASAN_DIR)/build.ninja:
	cmake -S . -B $(ASAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPETREL_SANITIZE=ON

test-asan: deps $(ASAN_DIR)/build.ninja
	cmake --build $(ASAN_DIR) -j $(JOBS)
	cd $(ASAN_DIR) && ctest --output-on-failure -j $(JOBS)
	PETRELD=$(abspath $(ASAN_DIR))/petreld PETREL_SANITIZED=1 $(PYTHON) -m pytest -q tests/integration

bench: deps build
	bash bench/run.sh

# Fuzzing (clang + libFuzzer, in build-fuzz/; see docs/security.md).
#   make fuzz          each target for FUZZ_SECONDS (default 300)
#   make fuzz-regress  each target over its corpus, then FUZZ_SHORT (12) s each
#   make fuzz-merge    keep the new interesting inputs in fuzz/corpus/
FUZZ_SECONDS ?= 300
FUZZ_SHORT   ?= 12

fuzz-build:
	JOBS=$(JOBS) bash fuzz/run.sh build

fuzz:
	JOBS=$(JOBS) FUZZ_SECONDS=$(FUZZ_SECONDS) bash fuzz/run.sh fuzz

fuzz-regress:
	JOBS=$(JOBS) FUZZ_SHORT=$(FUZZ_SHORT) bash fuzz/run.sh regress

fuzz-merge:
	JOBS=$(JOBS) bash fuzz/run.sh merge

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR)

# Static analysis of src/ with the checked-in .clang-tidy (needs a configured build/).
tidy: $(BUILD_DIR)/build.ninja
	run-clang-tidy -quiet -p $(BUILD_DIR) -j $(JOBS) '$(CURDIR)/src/'
