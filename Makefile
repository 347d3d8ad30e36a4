# Petrel: the two commands of the README, and the steps behind them.
#   make run    install what is missing, build, start petreld on 127.0.0.1:2525
#   make test   install what is missing, build, run every test
BUILD_DIR  ?= build
ASAN_DIR   ?= build-asan
BUILD_TYPE ?= RelWithDebInfo
PYTHON     ?= /usr/bin/python3
JOBS       ?= $(shell nproc)

.PHONY: all deps deps-build build run test unit integration test-asan bench clean

all: build

deps:
	bash scripts/install-deps.sh

deps-build:
	bash scripts/install-deps.sh --build-only

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: deps-build $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

run: deps build
	bash scripts/run.sh $(BUILD_DIR)/petreld

unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

integration: build
	PETRELD=$(abspath $(BUILD_DIR))/petreld $(PYTHON) -m pytest -q tests/integration

test: deps build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)
	PETRELD=$(abspath $(BUILD_DIR))/petreld $(PYTHON) -m pytest -q tests/integration

$(ASAN_DIR)/build.ninja:
	cmake -S . -B $(ASAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DPETREL_SANITIZE=ON

test-asan: deps $(ASAN_DIR)/build.ninja
	cmake --build $(ASAN_DIR) -j $(JOBS)
	cd $(ASAN_DIR) && ctest --output-on-failure -j $(JOBS)
	PETRELD=$(abspath $(ASAN_DIR))/petreld $(PYTHON) -m pytest -q tests/integration

bench: deps build
	bash bench/run.sh

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR)
