#include "fastsbert/version.h"

#ifndef FASTSBERT_VERSION
#error "FASTSBERT_VERSION must be defined by the build (read from pyproject.toml)"
#endif

namespace fastsbert {

const char* version() { return FASTSBERT_VERSION; }

}  // namespace fastsbert
