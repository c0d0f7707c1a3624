# Thin wrapper so that the README's commands are short. The real work is in
# meson (build), scripts/run-tests (tests), scripts/lint (lint, format) and
# lab/lab (the lab).
BUILD ?= build
MESON_FLAGS ?=

.PHONY: all deps build test lint format lab lab-down clean

all: build

deps:
	scripts/deps build

build: deps
	@if [ ! -f $(BUILD)/build.ninja ]; then meson setup $(BUILD) $(MESON_FLAGS); fi
	ninja -C $(BUILD)

test:
	scripts/run-tests

# shellcheck, clang-format --dry-run and clang-tidy: the meson suite `lint`
lint: build
	scripts/deps lint
	meson test -C $(BUILD) --suite lint --print-errorlogs

# reformat every C file in place with clang-format (.clang-format)
format:
	scripts/deps lint
	scripts/lint format

lab: build
	lab/lab up

lab-down:
	lab/lab down

clean:
	rm -rf build build-asan build-fuzz
