// Skipping a test whose outside dependency (script(1), promtool, ...) is
// missing, so that CTest reports it as skipped rather than passed. The test
// calls skip_test(); the runner (tests/catch_main.cpp) then exits with
// kSkipReturnCode, which tests/CMakeLists.txt registers as SKIP_RETURN_CODE.
// With NAUTILUS_TEST_NO_SKIP set (scripts/test.sh sets it, having installed
// every dependency) a skip is a failure instead.
#pragma once

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <string>

namespace nautilus::test {

inline constexpr int kSkipReturnCode = 77;

inline std::atomic<int>& skipped_tests() {
  static std::atomic<int> count{0};
  return count;
}

// Call from the test body, then return from it.
inline void skip_test(const std::string& reason) {
  const char* no_skip = std::getenv("NAUTILUS_TEST_NO_SKIP");
  if (no_skip && *no_skip && std::string(no_skip) != "0") {
    FAIL("cannot skip (NAUTILUS_TEST_NO_SKIP is set): " << reason);
  }
  skipped_tests().fetch_add(1);
  WARN("SKIPPED: " << reason);
}

// True when `program` is on PATH.
inline bool have_program(const std::string& program) {
  return std::system(("command -v " + program + " >/dev/null 2>&1").c_str()) == 0;
}

}  // namespace nautilus::test
