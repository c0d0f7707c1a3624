# Thin wrapper so that the README's commands are short. The real work is in
# meson (build), scripts/run-tests (tests), scripts/lint (lint, format) and
# lab/lab (the lab).
BUILD ?= build
MESON_FLAGS ?=

.PHONY: all deps build test lint format lab lab-down image image-base clean

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

# the OCI image build/l2lb-<version>.oci.tar (IMAGE:<version>) from a
# release build in build-release, without a registry (docs/install.md)
IMAGE ?= l2lb.local/l2lb
image:
	scripts/image --name $(IMAGE)

# debian:bookworm for the Containerfile, by debootstrap (no registry)
image-base:
	scripts/image-base

lab: build
	lab/lab up

lab-down:
	lab/lab down

clean:
	rm -rf build build-asan build-fuzz build-release
