// The checks the plain C++ test executables share: check() records a failure and goes on,
// report() prints the outcome and gives main's exit status.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace fastsbert_test {

inline int failures = 0;

// The exit status ctest reads as "skipped" (SKIP_RETURN_CODE).
constexpr int kSkipped = 77;

// The exported model a test runs on ($FASTSBERT_TEST_MODEL), or nullptr after saying why
// the test skips: main then returns kSkipped.
inline const char* test_model() {
  const char* model = std::getenv("FASTSBERT_TEST_MODEL");
  if (!model || !*model) {
    std::fprintf(stderr, "FASTSBERT_TEST_MODEL not set; skipping\n");
    return nullptr;
  }
  return model;
}

inline void check(bool ok, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "FAIL: %s\n", what.c_str());
    ++failures;
  }
}

inline int report(const char* test) {
  if (failures) {
    std::fprintf(stderr, "%s: %d check(s) failed\n", test, failures);
    return 1;
  }
  std::printf("%s: all checks passed\n", test);
  return 0;
}

}  // namespace fastsbert_test
