# Thin wrapper so that the README's commands are short. The real work is in
# meson (build), scripts/run-tests (tests) and lab/lab (the lab).
BUILD ?= build
MESON_FLAGS ?=

.PHONY: all deps build test lab lab-down clean

all: build

deps:
	scripts/deps build

build: deps
	@if [ ! -f $(BUILD)/build.ninja ]; then meson setup $(BUILD) $(MESON_FLAGS); fi
	ninja -C $(BUILD)

test:
	scripts/run-tests

lab: build
	lab/lab up

lab-down:
	lab/lab down

clean:
	rm -rf build build-asan build-fuzz
