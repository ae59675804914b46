// A read-only float32 matrix in a NumPy .npy file, mapped into memory (never copied).
#pragma once

#include <cstddef>
#include <string>

namespace fastsbert::static_embed {

class NpyMatrix {
 public:
  // Maps `path`, which must hold a C-ordered little-endian float32 2-D array. Throws
  // MissingFile when it is absent and CorruptFile naming the file and what is wrong.
  explicit NpyMatrix(const std::string& path);
  ~NpyMatrix();
  NpyMatrix(const NpyMatrix&) = delete;
  NpyMatrix& operator=(const NpyMatrix&) = delete;

  const float* data() const { return data_; }
  size_t rows() const { return rows_; }
  size_t cols() const { return cols_; }

 private:
  void* map_ = nullptr;
  size_t map_bytes_ = 0;
  const float* data_ = nullptr;
  size_t rows_ = 0;
  size_t cols_ = 0;
};

}  // namespace fastsbert::static_embed
