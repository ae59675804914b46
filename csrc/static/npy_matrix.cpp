#include "static/npy_matrix.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "fastsbert/errors.h"

namespace fastsbert::static_embed {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicBytes = 6;

// The value text of `key` in the header dict ("'descr': '<f4', ..."), or "".
std::string_view header_value(std::string_view header, std::string_view key) {
  const std::string quoted = "'" + std::string(key) + "':";
  const size_t at = header.find(quoted);
  if (at == std::string_view::npos) return {};
  size_t b = at + quoted.size();
  while (b < header.size() && header[b] == ' ') ++b;
  size_t e = b;
  if (e < header.size() && header[e] == '(') {
    e = header.find(')', e);
    return e == std::string_view::npos ? std::string_view{} : header.substr(b, e + 1 - b);
  }
  while (e < header.size() && header[e] != ',' && header[e] != '}') ++e;
  return header.substr(b, e - b);
}

}  // namespace

NpyMatrix::NpyMatrix(const std::string& path) {
  const auto corrupt = [&](const std::string& why) {
    return CorruptFile("corrupt " + path + ": " + why);
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) throw MissingFile("embedding matrix not found: " + path);
    throw Error("cannot read " + path + ": " + std::strerror(errno));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || st.st_size <= 0) {
    ::close(fd);
    throw corrupt("the file is empty");
  }
  map_bytes_ = static_cast<size_t>(st.st_size);
  map_ = ::mmap(nullptr, map_bytes_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map_ == MAP_FAILED) {
    map_ = nullptr;
    throw Error("cannot map " + path + ": " + std::strerror(errno));
  }
  try {
    const auto* bytes = static_cast<const unsigned char*>(map_);
    if (map_bytes_ < kMagicBytes + 4 || std::memcmp(bytes, kMagic, kMagicBytes) != 0) {
      throw corrupt("not a NumPy .npy file");
    }
    const unsigned major = bytes[6];
    size_t header_len = 0, header_at = 0;
    if (major == 1) {
      header_len = bytes[8] | (size_t(bytes[9]) << 8);
      header_at = 10;
    } else if (major == 2 || major == 3) {
      if (map_bytes_ < 12) throw corrupt("truncated header");
      header_len = bytes[8] | (size_t(bytes[9]) << 8) | (size_t(bytes[10]) << 16) |
                   (size_t(bytes[11]) << 24);
      header_at = 12;
    } else {
      throw corrupt("unknown .npy format version " + std::to_string(major));
    }
    if (header_at + header_len > map_bytes_) throw corrupt("truncated header");
    const std::string_view header(reinterpret_cast<const char*>(bytes + header_at), header_len);
    const std::string_view descr = header_value(header, "descr");
    if (descr != "'<f4'") {
      throw corrupt("the matrix must be float32 (descr '<f4'), got " + std::string(descr));
    }
    if (header_value(header, "fortran_order") != "False") {
      throw corrupt("the matrix must be C-ordered (fortran_order False)");
    }
    const std::string shape(header_value(header, "shape"));
    unsigned long long r = 0, c = 0;
    char close = 0;
    if (std::sscanf(shape.c_str(), "(%llu, %llu%c", &r, &c, &close) != 3 || close != ')') {
      throw corrupt("the matrix must be 2-D, got shape " + shape);
    }
    rows_ = static_cast<size_t>(r);
    cols_ = static_cast<size_t>(c);
    const size_t data_at = header_at + header_len;
    if (cols_ == 0 || rows_ == 0) throw corrupt("the matrix is empty (shape " + shape + ")");
    if ((map_bytes_ - data_at) / sizeof(float) / cols_ < rows_) {
      throw corrupt("the file is shorter than its shape " + shape + " needs");
    }
    data_ = reinterpret_cast<const float*>(bytes + data_at);
  } catch (...) {
    ::munmap(map_, map_bytes_);
    map_ = nullptr;
    throw;
  }
}

NpyMatrix::~NpyMatrix() {
  if (map_) ::munmap(map_, map_bytes_);
}

}  // namespace fastsbert::static_embed
