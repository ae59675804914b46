#include "engine/precision.h"

#include <sys/stat.h>

#include <cstdio>

#include "common/cpu_features.h"
#include "common/json.h"
#include "fastsbert/errors.h"

namespace fastsbert::engine {

namespace {

constexpr const char* kChoices = "'float32' (or 'fp32'), 'int8', 'float16' (or 'fp16'), 'auto'";

bool is_file(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

struct Variant {
  bool listed = false;
  std::string file;     // empty when the guard refused it and nothing was written
  bool passed = false;  // the guard's verdict
  std::string figures;  // "mean cosine 0.995, p1 0.981" for messages
};

std::string format_figure(const json::Value* v) {
  if (!v || !v->is_number()) return "?";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", v->as_double());
  return buf;
}

Variant read_variant(const std::string& model_dir, const std::string& dtype) {
  const std::string config_path = model_dir + "/fastsbert.json";
  Variant out;
  try {
    const json::Value cfg = json::parse_file(config_path);
    const json::Value* variants = cfg.find("variants");
    const json::Value* v = variants ? variants->find(dtype) : nullptr;
    if (!v) return out;
    out.listed = true;
    if (const json::Value* f = v->find("file"); f && f->is_string()) out.file = f->as_string();
    if (const json::Value* p = v->find("passed"); p && p->is_bool()) out.passed = p->as_bool();
    out.figures = "mean cosine " + format_figure(v->find("mean_cosine")) + ", p1 cosine " +
                  format_figure(v->find("p1_cosine"));
  } catch (const std::exception& e) {
    throw CorruptFile("corrupt " + config_path + ": " + e.what());
  }
  if (!out.file.empty() && out.file.find('/') != std::string::npos) {
    throw CorruptFile("corrupt " + config_path + ": variants." + dtype + ".file must be a file name");
  }
  return out;
}

std::string variant_path(const std::string& model_dir, const std::string& dtype) {
  const Variant v = read_variant(model_dir, dtype);
  const std::string how = "create it with fastsbert.export(src, out, dtype='" + dtype +
                          "') or by loading the directory from Python with dtype='" + dtype +
                          "'";
  if (!v.listed) throw MissingFile("model directory " + model_dir + " has no " + dtype + " variant: " + how);
  if (v.file.empty()) {
    throw InvalidArgument("the " + dtype + " variant of " + model_dir +
                " was refused by the accuracy guard (" + v.figures +
                " against float32); use float32, or export it with force=True to accept it");
  }
  const std::string path = model_dir + "/" + v.file;
  if (!is_file(path)) {
    throw MissingFile("model directory " + model_dir + " lists " + v.file + " as its " + dtype +
                " variant, but the file is missing: " + how);
  }
  return path;
}

// The variant `auto` may use: listed, present and passed; empty otherwise.
std::string usable_variant(const std::string& model_dir, const std::string& dtype) {
  const Variant v = read_variant(model_dir, dtype);
  if (!v.passed || v.file.empty()) return {};
  const std::string path = model_dir + "/" + v.file;
  return is_file(path) ? path : std::string{};
}

// ONNX Runtime fuses the int8 graph's residual Add + LayerNormalization into
// SkipLayerNormalization, whose CPU kernel ran 3.6x slower than the two ops it replaces
// (per-op profile, all-MiniLM-L6-v2 int8, batch 32, one thread: 173 ms against 48 ms over
// 16 batches); without it the int8 graph runs 1.17x faster (1.21x on the graph with fused
// attention and folded biases: 217 against 262 ms). The float32 graph keeps its
// bias Add apart from the product, so the fusion never matches there.
const std::vector<std::pair<std::string, std::string>> kInt8SessionConfig = {
    {"optimization.disable_specified_optimizers", "SkipLayerNormFusion"}};

PrecisionChoice with_session_config(PrecisionChoice choice) {
  if (choice.dtype == "int8") choice.session_config = kInt8SessionConfig;
  return choice;
}

}  // namespace

std::string canonical_dtype(const std::string& dtype) {
  if (dtype == "float32" || dtype == "fp32") return "float32";
  if (dtype == "float16" || dtype == "fp16") return "float16";
  if (dtype == "int8" || dtype == "auto") return dtype;
  throw InvalidArgument("unknown dtype '" + dtype + "': expected one of " + kChoices);
}

PrecisionChoice choose_precision(const std::string& model_dir, const std::string& dtype,
                                 bool cuda) {
  const std::string want = canonical_dtype(dtype);
  const std::string fp32 = model_dir + "/model.onnx";
  if (want == "float32") return {"float32", fp32};
  if (want == "auto") {
    bool fast_int8 = false;
    try {
      fast_int8 = !cuda && int8_is_fast(cpu_features());
    } catch (const std::invalid_argument& e) {
      throw InvalidArgument(e.what());
    }
    const std::string pick = cuda ? "float16" : fast_int8 ? "int8" : "";
    if (!pick.empty()) {
      const std::string path = usable_variant(model_dir, pick);
      if (!path.empty()) return with_session_config({pick, path});
    }
    return {"float32", fp32};
  }
  if (want == "float16" && !cuda) {
    throw InvalidArgument("dtype='float16' runs on CUDA only: pass device='cuda', or on the CPU use "
                "dtype='int8' (fast where the CPU has VNNI or AMX) or 'float32'");
  }
  if (want == "int8" && cuda) {
    throw InvalidArgument("dtype='int8' runs on the CPU only: on CUDA use dtype='float16' or 'float32'");
  }
  return with_session_config({want, variant_path(model_dir, want)});
}

}  // namespace fastsbert::engine
