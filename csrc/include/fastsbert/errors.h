// The exceptions fastsbert throws. Every one derives from fastsbert::Error, so a caller that
// does not care why can catch that alone.
//
// This header exposes no ONNX Runtime or Python types.
#pragma once

#include <stdexcept>

namespace fastsbert {

// Base of every fastsbert error; thrown as such for runtime failures (the ONNX Runtime
// library cannot be loaded, a model call fails, CUDA is asked for but not available).
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An argument value the call cannot take (an unknown device, a negative thread count,
// invalid UTF-8 in a text, a sequence longer than the model takes).
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

// A file exists but its contents are malformed or inconsistent (fastsbert.json with a
// wrong type or value, a tokenizer.json whose vocabulary lacks its unknown token). The
// message names the file, and the key or value at fault.
class CorruptFile : public InvalidArgument {
 public:
  using InvalidArgument::InvalidArgument;
};

// A file or directory the call needs does not exist; the message names its path.
class MissingFile : public Error {
 public:
  using Error::Error;
};

// The call was stopped through its CancelToken (see fastsbert/cancel.h) before it finished.
// Outputs are then partly written; the object that ran the call stays usable.
class Cancelled : public Error {
 public:
  using Error::Error;
};

}  // namespace fastsbert
