#include "engine/model_dir.h"

#include <sys/stat.h>

#include "common/json.h"

namespace fastsbert::engine {

namespace {
bool is_dir(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}
bool is_file(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}
}  // namespace

ModelDir read_model_dir(const std::string& path) {
  if (!is_dir(path)) throw Error("model directory not found: " + path);
  ModelDir md;
  md.path = path;
  md.onnx_path = path + "/model.onnx";
  const std::string config_path = path + "/fastsbert.json";
  if (!is_file(config_path)) {
    throw Error("model directory " + path + " has no fastsbert.json (export it with `fastsbert export`)");
  }
  if (!is_file(md.onnx_path)) throw Error("model directory " + path + " has no model.onnx");

  try {
    json::Value cfg = json::parse_file(config_path);
    md.config.dim = cfg.at("dim").as_int("dim");
    md.config.max_seq_length = cfg.at("max_seq_length").as_int("max_seq_length");
    md.config.pooling = cfg.at("pooling").as_string("pooling");
    md.config.normalize = cfg.at("normalize").as_bool("normalize");
    md.config.pad_token_id = cfg.at("pad_token_id").as_int("pad_token_id");
    for (const auto& name : cfg.at("inputs").as_array("inputs")) {
      md.inputs.push_back(name.as_string("inputs[]"));
    }
  } catch (const std::exception& e) {
    throw Error("corrupt " + config_path + ": " + e.what());
  }
  if (md.config.dim <= 0 || md.config.max_seq_length <= 0) {
    throw Error("corrupt " + config_path + ": dim and max_seq_length must be positive");
  }
  return md;
}

}  // namespace fastsbert::engine
