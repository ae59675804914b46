// The checks the plain C++ test executables share: check() records a failure and goes on,
// report() prints the outcome and gives main's exit status.
#pragma once

#include <cstdio>
#include <string>

namespace fastsbert_test {

inline int failures = 0;

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
