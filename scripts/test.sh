#!/usr/bin/env bash
# The test command (README, .ci/run): installs what is missing, builds the
# sanitizer configuration (ASan+UBSan, warnings as errors), runs every test
# through CTest, then the bus concurrency tests under TSan and a short libFuzzer
# run of the envelope decoders and of the control API's request path.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=${NAUTILUS_JOBS:-$(nproc)}

scripts/install-deps.sh

echo "== build: ASan+UBSan (build/asan)"
cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DNAUTILUS_SANITIZE=address,undefined -DNAUTILUS_WERROR=ON >/dev/null
cmake --build build/asan -j "$jobs"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
# Every dependency is installed above: a test that would skip fails instead.
export NAUTILUS_TEST_NO_SKIP=1
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
echo "== tests: ASan+UBSan"
(cd build/asan && ctest --output-on-failure -j "$jobs" --timeout 300) | tee build/asan/ctest.log
# Tests run as root here: one that replaced /dev/null (as zsh's compinit once
# did) would break every later test and the machine; say so.
[ -c /dev/null ] || { echo "a test replaced /dev/null with a regular file" >&2; exit 1; }

echo "== build: TSan, bus layer, hub single flight and engine supervisor (build/tsan)"
cmake -S . -B build/tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DNAUTILUS_SANITIZE=thread -DNAUTILUS_WERROR=ON -DNAUTILUS_APPS=OFF \
  "-DNAUTILUS_TEST_LAYERS=core;bus;concurrency" >/dev/null
cmake --build build/tsan -j "$jobs" --target test_bus test_concurrency
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
echo "== tests: TSan (bus, hub, supervisor)"
(cd build/tsan && ctest --output-on-failure -j "$jobs" --timeout 300 -L "bus|concurrency") | tee build/tsan/ctest.log

echo "== fuzz: envelope decoders (build/fuzz, clang + libFuzzer)"
CXX=clang++ cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DNAUTILUS_FUZZ=ON -DNAUTILUS_SANITIZE=address,undefined -DNAUTILUS_TESTS=OFF -DNAUTILUS_APPS=OFF >/dev/null
# One libFuzzer target over its seed corpus (copied, so findings stay in build/).
run_fuzzer() {  # TARGET CORPUS_DIR
  cmake --build build/fuzz -j "$jobs" --target "$1"
  mkdir -p "build/fuzz/$2"
  cp -n "fuzz/$2"/* "build/fuzz/$2/" 2>/dev/null || true
  "build/fuzz/fuzz/$1" -max_total_time="${NAUTILUS_FUZZ_SECONDS:-20}" -max_len=4096 \
    -print_final_stats=0 "build/fuzz/$2" > "build/fuzz/$1.log" 2>&1 || { tail -n 40 "build/fuzz/$1.log"; exit 1; }
  grep -a '^Done' "build/fuzz/$1.log"
}
run_fuzzer fuzz_envelope corpus
echo "== fuzz: control API request parser, router and token checks"
run_fuzzer fuzz_control corpus_control

# One closing line over both CTest runs (CTest already exited non-zero on any failure).
total() { sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\1 \2/p' "$1"; }
read -r f1 n1 < <(total build/asan/ctest.log)
read -r f2 n2 < <(total build/tsan/ctest.log)
echo "tests: $((n1 + n2 - f1 - f2)) passed, $((f1 + f2)) failed"
