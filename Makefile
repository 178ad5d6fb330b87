# vectable — the two commands a newcomer needs are `make demo` and `make test`.
# Both use the release profile, so RocksDB's C++ (15–25 minutes on 2 cores) compiles once.

CARGO ?= cargo

.PHONY: demo test bench bench-copy bench-full build deps check fmt clippy doc clean-data

## Build in release and run the demo on the bundled sample, in ./data.
demo: build
	@bash scripts/demo.sh

## Run every test (unit, integration, doc) in the release profile.
test: deps
	$(CARGO) test --release

## Benchmarks (quick suite, ~25 minutes on 2 cores): markdown on stdout, JSON in target/bench/.
bench: deps
	$(CARGO) bench --bench vectable_bench -- --quick --json target/bench/results.json

## Peak RSS of a COPY of a generated N × 384 Parquet file (VECTABLE_COPY_ROWS, default 100,000).
bench-copy: deps
	$(CARGO) bench --bench copy_memory

## All benchmark cases, including 1M vectors (hours on 2 cores).
bench-full: deps
	$(CARGO) bench --bench vectable_bench -- --full --json target/bench/results-full.json

build: deps
	$(CARGO) build --release

## Install missing system packages (clang, libclang-dev for librocksdb-sys' bindgen).
deps:
	@bash scripts/ensure-deps.sh

## fmt + clippy + test + doc, as a reviewer would run them.
check: fmt clippy test doc

fmt:
	$(CARGO) fmt --all -- --check

clippy: deps
	$(CARGO) clippy --release --all-targets -- -D warnings

doc: deps
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --release --no-deps

## Remove the demo database (keeps data/samples).
clean-data:
	rm -rf data/db data/vectors
