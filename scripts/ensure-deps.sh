#!/usr/bin/env bash
# Installs the system packages the build needs when they are missing:
# librocksdb-sys runs bindgen, which needs libclang (Debian: clang libclang-dev).
set -euo pipefail

have_libclang() {
    # bindgen finds libclang through LIBCLANG_PATH or the usual llvm folders.
    local f
    for f in "${LIBCLANG_PATH:-/nonexistent}"/libclang*.so* /usr/lib/llvm-*/lib/libclang*.so* \
             /usr/lib/*-linux-gnu/libclang-*.so* /usr/lib/libclang*.so*; do
        [ -e "$f" ] && return 0
    done
    return 1
}

if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo is not installed; install Rust from https://rustup.rs" >&2
    exit 1
fi

if ! have_libclang || ! command -v clang >/dev/null 2>&1; then
    echo "==> installing clang and libclang-dev (needed by librocksdb-sys' bindgen)" >&2
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    if command -v apt-get >/dev/null 2>&1; then
        $SUDO apt-get update -qq || true
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq clang libclang-dev >/dev/null
    else
        echo "error: libclang is missing and apt-get is not available; install clang and libclang" >&2
        exit 1
    fi
fi
