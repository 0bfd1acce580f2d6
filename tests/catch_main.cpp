// The Catch2 runner of every test layer. A run in which a test skipped itself
// (tests/support/skip.h) and nothing failed exits with kSkipReturnCode, so
// CTest shows the test as skipped, not passed.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "support/skip.h"

int main(int argc, char* argv[]) {
  int rc = Catch::Session().run(argc, argv);
  if (rc == 0 && nautilus::test::skipped_tests().load() > 0) return nautilus::test::kSkipReturnCode;
  return rc;
}
