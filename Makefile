# Boarding Desk — `make run` sets up and opens the app; `make test` runs every test.
# Both install what is missing first (apt packages need root or sudo).

SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)
CARGO ?= cargo
APP := target/debug/boarding-desk
UI_STAMP := ui/node_modules/.package-lock.json

.PHONY: run test prereqs ui app fmt-check lint test-ui test-rust release bench-build clean-e2e

## Set up everything and open the app window (local vault in the OS data dir; ARGS="--data-dir DIR" to change).
## The platform sandbox (desk-sandbox) starts beside it on 127.0.0.1:12111, where the app's default
## platform settings point, and stops with it.
run: prereqs ui
	$(CARGO) build -p boarding-desk -p desk-sandbox
	target/debug/desk-sandbox & sandbox=$$!; trap 'kill $$sandbox 2>/dev/null' EXIT; $(APP) $(ARGS)

## Run every test: formatting, lints, UI unit tests, Rust unit/integration tests, end-to-end tests in the real window.
test: prereqs ui fmt-check test-ui lint test-rust

prereqs:
	@scripts/install-prereqs.sh

$(UI_STAMP): ui/package-lock.json ui/package.json
	cd ui && npm ci --no-audit --no-fund
	@touch $(UI_STAMP)

## Build the UI that the app embeds (ui/dist).
ui: $(UI_STAMP)
	cd ui && npm run --silent build

fmt-check:
	$(CARGO) fmt --all --check

lint: ui
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

test-ui: $(UI_STAMP)
	cd ui && npm run --silent check
	cd ui && npm test

test-rust: ui
	$(CARGO) build -p boarding-desk --locked
	@# Each desk keeps a record of a vault's sign-in failures outside its data folder
	@# (crates/vault/src/device.rs); the tests' records go to a folder of their own.
	devices=$$(mktemp -d); trap 'rm -rf "$$devices"' EXIT; BOARDING_DESK_DEVICE_DIR="$$devices" $(CARGO) test --workspace --locked
	@# The journeys again with every vault's tables in a team store (issue 17): a throwaway
	@# PostgreSQL cluster of the test process's own, a database per vault. Skipped there: what
	@# only a local vault file does (backups and restores, the file's page check, its file list).
	devices=$$(mktemp -d); trap 'rm -rf "$$devices"' EXIT; BOARDING_DESK_TEST_BACKEND=team BOARDING_DESK_DEVICE_DIR="$$devices" \
	  $(CARGO) test --locked -p desk-tests --test journeys -- \
	  --skip a_backup_restores --skip backups_taken_while --skip every_file_in_the_data_folder --skip the_deferred_integrity_check

## Optimised app binary at target/release/boarding-desk.
release: prereqs ui
	$(CARGO) build -p boarding-desk --release

clean-e2e:
	rm -rf target/e2e-artifacts
