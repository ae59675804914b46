// The fastsbert version (pyproject.toml's, the one place it is written).
#pragma once

namespace fastsbert {

// Version of the libfastsbert in use, e.g. "0.1.0": the library's, not the headers', so a
// service can log what it actually loaded.
const char* version();

}  // namespace fastsbert
