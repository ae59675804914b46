// Encoder: runs planned batches of token ids through one ONNX Runtime session and writes
// each embedding straight into the caller's buffer at its input position.
#include "fastsbert/encoder.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "common/parallel.h"
#include "engine/batcher.h"
#include "engine/model_dir.h"
#include "engine/io_binding.h"
#include "engine/ort_runtime.h"
#include "engine/precision.h"
#include "fastsbert/tokenizer.h"
#include "static/static_model.h"
#include "tokenizer/word_tokenizer.h"

namespace fastsbert {

namespace {

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  return std::max(1, std::atoi(v));
}

// "cpu" -> -1, "cuda" -> 0, "cuda:N" -> N.
int parse_device(const std::string& device) {
  if (device == "cpu") return -1;
  if (device == "cuda") return 0;
  if (device.rfind("cuda:", 0) == 0) {
    const std::string id = device.substr(5);
    constexpr size_t kMaxDigits = 6;  // far above any device count, far below int overflow
    if (!id.empty() && id.size() <= kMaxDigits &&
        id.find_first_not_of("0123456789") == std::string::npos) {
      return std::atoi(id.c_str());
    }
  }
  throw InvalidArgument("unknown device '" + device +
                        "': expected 'cpu', 'cuda' or 'cuda:N' with N a device number >= 0");
}

// Padded input tensors for one batch, reused across the batches a worker runs.
struct BatchBuffers {
  std::vector<int64_t> input_ids;
  std::vector<int64_t> attention_mask;
  std::vector<int64_t> token_type_ids;
};

// The RunOptions of one encode call's model calls in flight, so that a cancellation can
// stop them mid-call (one batch of a large model can take seconds). Each model call gets
// fresh RunOptions, so a terminated call leaves nothing behind for the next one.
class RunsInFlight {
 public:
  // Registers `run`, or terminates it at once when the call is already being stopped.
  void add(Ort::RunOptions& run) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (terminated_) run.SetTerminate();
    runs_.push_back(&run);
  }
  void remove(Ort::RunOptions& run) {
    std::lock_guard<std::mutex> lock(mutex_);
    runs_.erase(std::find(runs_.begin(), runs_.end(), &run));
  }
  void terminate_all() {
    std::lock_guard<std::mutex> lock(mutex_);
    terminated_ = true;
    for (Ort::RunOptions* run : runs_) run->SetTerminate();
  }

 private:
  std::mutex mutex_;
  bool terminated_ = false;
  std::vector<Ort::RunOptions*> runs_;
};

// The ONNX Runtime objects of an Encoder. They exist only once the runtime is loaded: the
// C++ wrappers release through the runtime's API table even when empty, so an Ort member
// destroyed before Ort::InitApi (say, while a failed constructor unwinds) would call through
// a null table.
struct OrtSessions {
  Ort::Session bulk{nullptr};
  std::vector<const char*> input_names;  // point into ModelDir::inputs
  std::string output_name;
  // For calls that form a single batch (one text, a few short ones) parallel calls cannot
  // help, so a second session that splits operators over every thread serves them; it is
  // created on first use, so bulk-only users never pay its memory.
  Ort::SessionOptions latency_options{nullptr};
  std::once_flag latency_once;
  Ort::Session latency{nullptr};
};

}  // namespace

struct Encoder::Impl {
  engine::ModelDir model;
  std::string device;
  int device_id = -1;
  std::string dtype;
  // Model calls go through I/O binding: always on CUDA; on the CPU only when
  // FASTSBERT_IO_BINDING=1, so the binding path can be checked on any machine.
  bool io_binding = false;
  // Model calls in flight at once. On the CPU, W single-threaded calls on separate batches
  // beat one call split over W threads: small GEMMs and the many small ops of a BERT
  // layer do not parallelise well, and independent calls need no synchronisation.
  int workers = 1;
  int threads = 1;
  int64_t max_batch_tokens = engine::kCpuBatchTokens;
  std::unique_ptr<OrtSessions> ort;
  std::unique_ptr<Tokenizer> tokenizer;  // null when tokenizer.json is absent or unsupported
  // Set instead of `tokenizer` when fastsbert.json names a word tokenizer.
  std::unique_ptr<tok::WordTokenizer> word_tokenizer;
  std::string tokenizer_reason;
  // Set for config.engine == "static": the whole encoder, with no ONNX Runtime objects.
  std::unique_ptr<static_embed::StaticModel> static_model;

  void load_static(const EncoderOptions& options);

  Ort::Session& session_for(size_t batches) const;
  void run_batch(Ort::Session& run_session, const engine::BatchPlan& plan,
                 const engine::Batch& batch, const TokenSequences& seqs, BatchBuffers& buf,
                 float* out, RunsInFlight& runs, const EncodeOptions& options) const;
};

Encoder::Encoder(const std::string& model_dir, const EncoderOptions& options)
    : impl_(std::make_unique<Impl>()) {
  Impl& im = *impl_;
  // Arguments first, so that a bad one is reported before anything is loaded.
  if (options.threads < 0) {
    throw InvalidArgument("threads must be >= 0 (0: all available CPUs), got " +
                          std::to_string(options.threads));
  }
  const int device_id = parse_device(options.device);
  im.device = options.device;
  const int threads = thread_count(options.threads);
  im.threads = threads;
  im.model = engine::read_model_dir(model_dir);
  im.device_id = device_id;
  if (im.model.config.engine == "static") {
    im.load_static(options);
    return;
  }
  const engine::PrecisionChoice precision =
      engine::choose_precision(im.model.path, options.dtype, device_id >= 0);
  im.model.onnx_path = precision.onnx_path;
  im.dtype = precision.dtype;
  const char* io_binding_env = std::getenv("FASTSBERT_IO_BINDING");
  im.io_binding = device_id >= 0 || (io_binding_env && std::string(io_binding_env) == "1");
  auto& rt = engine::OrtRuntime::get(options.ort_library);

  im.ort = std::make_unique<OrtSessions>();
  OrtSessions& ort = *im.ort;
  im.max_batch_tokens = env_int(
      "FASTSBERT_BATCH_TOKENS",
      static_cast<int>(device_id >= 0 ? engine::kCudaBatchTokens : engine::kCpuBatchTokens));
  Ort::SessionOptions so;
  so.SetGraphOptimizationLevel(GraphOptimizationLevel::ORT_ENABLE_ALL);
  so.SetExecutionMode(ExecutionMode::ORT_SEQUENTIAL);
  so.SetInterOpNumThreads(1);
  for (const auto& [key, value] : precision.session_config) so.AddConfigEntry(key.c_str(), value.c_str());
  // ONNX Runtime's per-op profiler on the sessions exactly as they run (bench/profile_ops.py
  // reads the trace, which ONNX Runtime writes to PREFIX_<time>.json when a session closes).
  if (const char* prefix = std::getenv("FASTSBERT_ORT_PROFILE"); prefix && *prefix) {
    so.EnableProfiling(prefix);
  }
  if (device_id >= 0) {
    if (!rt.has_provider("CUDAExecutionProvider")) {
      throw Error("device='" + options.device +
                  "' needs the CUDA execution provider, but the ONNX Runtime in use (" +
                  rt.library_path() + ", " + rt.version() +
                  ") has none: install onnxruntime-gpu in place of onnxruntime");
    }
    OrtCUDAProviderOptions cuda{};
    cuda.device_id = device_id;
    // Grow the arena by what each batch shape needs, not by powers of two: batch shapes
    // vary with sequence length and doubling strands memory.
    cuda.arena_extend_strategy = 1;
    cuda.do_copy_in_default_stream = 1;
    so.AppendExecutionProvider_CUDA(cuda);
    so.SetIntraOpNumThreads(1);
    im.workers = 1;
  } else {
    im.workers = std::min(env_int("FASTSBERT_WORKERS", threads), threads);
    if (im.workers > 1) {
      ort.latency_options = so.Clone();
      ort.latency_options.SetIntraOpNumThreads(threads);
    }
    so.SetIntraOpNumThreads(std::max(1, threads / im.workers));
    // Spinning threads burn the cores the other workers need.
    so.AddConfigEntry("session.intra_op.allow_spinning", "0");
  }

  try {
    ort.bulk = Ort::Session(rt.env(), im.model.onnx_path.c_str(), so);
  } catch (const Ort::Exception& e) {
    throw Error("cannot load " + im.model.onnx_path + ": " + e.what());
  }

  // The graph's inputs must be the ones fastsbert.json names (input_ids, attention_mask and
  // optionally token_type_ids), and it must have exactly one output: the embedding.
  Ort::AllocatorWithDefaultOptions alloc;
  const size_t n_in = ort.bulk.GetInputCount();
  if (n_in != im.model.inputs.size()) {
    throw CorruptFile(im.model.onnx_path + " has " + std::to_string(n_in) + " inputs but " +
                      im.model.path + "/fastsbert.json lists " +
                      std::to_string(im.model.inputs.size()));
  }
  for (size_t i = 0; i < n_in; ++i) {
    const std::string name = ort.bulk.GetInputNameAllocated(i, alloc).get();
    if (!engine::is_known_input(name)) {
      throw CorruptFile(im.model.onnx_path + ": unsupported graph input '" + name + "'");
    }
    im.model.inputs[i] = name;
  }
  for (const auto& name : im.model.inputs) ort.input_names.push_back(name.c_str());
  if (ort.bulk.GetOutputCount() != 1) {
    throw CorruptFile(im.model.onnx_path + ": expected one output (the sentence embedding)");
  }
  ort.output_name = ort.bulk.GetOutputNameAllocated(0, alloc).get();

  if (!im.model.word_tokenizer_type.empty()) {
    try {
      im.word_tokenizer = std::make_unique<tok::WordTokenizer>(tok::WordTokenizer::from_file(
          im.model.word_tokenizer_path, im.model.word_tokenizer_type));
    } catch (const UnsupportedTokenizer& e) {  // callers tokenize elsewhere, use encode_ids
      im.tokenizer_reason = e.what();
    }
    return;
  }
  const std::string tokenizer_path = im.model.path + "/tokenizer.json";
  try {
    im.tokenizer = std::make_unique<Tokenizer>(Tokenizer::from_file(tokenizer_path));
  } catch (const UnsupportedTokenizer& e) {
    im.tokenizer_reason = e.what();
  } catch (const MissingFile&) {
    im.tokenizer_reason = "model directory " + im.model.path + " has no tokenizer.json";
  }
}

void Encoder::Impl::load_static(const EncoderOptions& options) {
  const std::string where = model.path + " is a static embedding model";
  if (device_id >= 0) {
    throw InvalidArgument(where + ", which runs on the CPU; got device='" + options.device + "'");
  }
  const std::string& d = options.dtype;
  if (d != "float32" && d != "fp32" && d != "auto") {
    throw InvalidArgument(where + " (float32 only); got dtype='" + d + "'");
  }
  dtype = "float32";
  static_model = std::make_unique<static_embed::StaticModel>(model);
}

bool Encoder::has_tokenizer() const {
  return impl_->tokenizer || impl_->word_tokenizer || impl_->static_model;
}
const std::string& Encoder::tokenizer_unavailable_reason() const {
  return impl_->tokenizer_reason;
}

void Encoder::tokenize(const std::vector<std::string_view>& texts, std::vector<int64_t>& ids,
                       std::vector<int64_t>& offsets, size_t max_length,
                       const CancelToken* cancel) const {
  const Impl& im = *impl_;
  if (im.static_model) {
    im.static_model->tokenize(texts, ids, offsets, max_length, im.threads, cancel);
    return;
  }
  if (max_length == 0) max_length = static_cast<size_t>(im.model.config.max_seq_length);
  if (im.word_tokenizer) {
    im.word_tokenizer->encode_batch_csr(texts, ids, offsets, max_length, im.threads, cancel);
    return;
  }
  if (!im.tokenizer) throw Error("cannot tokenize text: " + im.tokenizer_reason);
  im.tokenizer->encode_batch_csr(texts, ids, offsets, max_length, im.threads, cancel);
}

void Encoder::tokenize_pairs(const std::vector<std::string_view>& first,
                             const std::vector<std::string_view>& second,
                             std::vector<int64_t>& ids, std::vector<int64_t>& type_ids,
                             std::vector<int64_t>& offsets, size_t max_length,
                             const CancelToken* cancel) const {
  const Impl& im = *impl_;
  if (!im.tokenizer) throw Error("cannot tokenize text: " + im.tokenizer_reason);
  if (max_length == 0) max_length = static_cast<size_t>(im.model.config.max_seq_length);
  im.tokenizer->encode_pair_batch_csr(first, second, ids, type_ids, offsets, max_length,
                                      im.threads, cancel);
}

void Encoder::encode_pairs(const std::vector<std::string_view>& first,
                           const std::vector<std::string_view>& second, float* out,
                           const EncodeOptions& options) const {
  std::vector<int64_t> ids, type_ids, offsets;
  tokenize_pairs(first, second, ids, type_ids, offsets, 0, options.cancel);
  TokenSequences seqs{ids.data(), offsets.data(), first.size(), type_ids.data()};
  encode_ids(seqs, out, options);
}

void Encoder::encode(const std::vector<std::string_view>& texts, float* out,
                     const EncodeOptions& options) const {
  if (impl_->static_model) {  // tokenizing and averaging block by block, no CSR of it all
    if (options.prompt_length != 0) {
      throw InvalidArgument("prompt_length applies to models whose pooling leaves the prompt "
                            "out; " + impl_->model.path + " is a static model");
    }
    impl_->static_model->encode(texts, out, impl_->threads, options.cancel, options.progress);
    return;
  }
  std::vector<int64_t> ids, offsets;
  tokenize(texts, ids, offsets, 0, options.cancel);
  encode_ids(TokenSequences{ids.data(), offsets.data(), texts.size()}, out, options);
}

Encoder::~Encoder() = default;
Encoder::Encoder(Encoder&&) noexcept = default;
Encoder& Encoder::operator=(Encoder&&) noexcept = default;

const ModelConfig& Encoder::config() const { return impl_->model.config; }
const std::string& Encoder::model_dir() const { return impl_->model.path; }
const std::string& Encoder::dtype() const { return impl_->dtype; }

Ort::Session& Encoder::Impl::session_for(size_t batches) const {
  if (batches != 1 || !ort->latency_options) return ort->bulk;
  std::call_once(ort->latency_once, [this] {
    auto& rt = engine::OrtRuntime::get("");
    try {
      ort->latency = Ort::Session(rt.env(), model.onnx_path.c_str(), ort->latency_options);
    } catch (const Ort::Exception& e) {
      throw Error("cannot load " + model.onnx_path + ": " + e.what());
    }
  });
  return ort->latency;
}

void Encoder::Impl::run_batch(Ort::Session& run_session, const engine::BatchPlan& plan,
                              const engine::Batch& batch, const TokenSequences& seqs,
                              BatchBuffers& buf, float* out, RunsInFlight& runs,
                              const EncodeOptions& options) const {
  const CancelToken* cancel = options.cancel;
  const int64_t rows = static_cast<int64_t>(batch.end - batch.begin);
  const int64_t len = batch.max_len;
  const size_t cells = static_cast<size_t>(rows * len);
  buf.input_ids.assign(cells, model.config.pad_token_id);
  buf.attention_mask.assign(cells, 0);
  buf.token_type_ids.assign(cells, 0);
  for (int64_t r = 0; r < rows; ++r) {
    const size_t s = plan.order[batch.begin + static_cast<size_t>(r)];
    const int64_t b = seqs.offsets[s];
    const int64_t n = seqs.offsets[s + 1] - b;
    std::memcpy(&buf.input_ids[static_cast<size_t>(r * len)], seqs.ids + b,
                static_cast<size_t>(n) * sizeof(int64_t));
    if (seqs.type_ids) {
      std::memcpy(&buf.token_type_ids[static_cast<size_t>(r * len)], seqs.type_ids + b,
                  static_cast<size_t>(n) * sizeof(int64_t));
    }
    std::fill_n(&buf.attention_mask[static_cast<size_t>(r * len)], n, int64_t{1});
  }

  const std::array<int64_t, 2> shape{rows, len};
  auto mem = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  std::vector<Ort::Value> values;
  values.reserve(ort->input_names.size());
  // One value for the whole batch: the graph reads it as a tensor of shape (1,).
  int64_t prompt_length = options.prompt_length;
  const std::array<int64_t, 1> one{1};
  for (const auto& name : model.inputs) {
    if (name == "prompt_length") {
      values.push_back(Ort::Value::CreateTensor<int64_t>(mem, &prompt_length, 1, one.data(),
                                                         one.size()));
      continue;
    }
    std::vector<int64_t>& src = name == "input_ids"        ? buf.input_ids
                                : name == "attention_mask" ? buf.attention_mask
                                                           : buf.token_type_ids;
    values.push_back(Ort::Value::CreateTensor<int64_t>(mem, src.data(), cells, shape.data(),
                                                       shape.size()));
  }
  const char* out_name = ort->output_name.c_str();
  Ort::RunOptions run;
  runs.add(run);
  std::vector<Ort::Value> result;
  try {
    throw_if_cancelled(cancel);
    result = io_binding ? engine::run_bound(run_session, run, ort->input_names, values, out_name)
                        : run_session.Run(run, ort->input_names.data(), values.data(),
                                          values.size(), &out_name, 1);
  } catch (const Ort::Exception& e) {
    runs.remove(run);
    throw_if_cancelled(cancel);  // the run was terminated
    throw Error(std::string("ONNX Runtime failed while encoding: ") + e.what());
  } catch (...) {
    runs.remove(run);
    throw;
  }
  runs.remove(run);

  const auto info = result[0].GetTensorTypeAndShapeInfo();
  const auto out_shape = info.GetShape();
  const int64_t dim = model.config.dim;
  if (out_shape.size() != 2 || out_shape[0] != rows || out_shape[1] != dim ||
      info.GetElementType() != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT) {
    throw Error(model.onnx_path + ": output is not a float32 (batch, " + std::to_string(dim) +
                ") tensor");
  }
  const float* res = result[0].GetTensorData<float>();
  for (int64_t r = 0; r < rows; ++r) {
    const size_t s = plan.order[batch.begin + static_cast<size_t>(r)];
    std::memcpy(out + s * static_cast<size_t>(dim), res + r * dim,
                static_cast<size_t>(dim) * sizeof(float));
  }
}

void Encoder::encode_ids(const TokenSequences& seqs, float* out,
                         const EncodeOptions& options) const {
  const Impl& im = *impl_;
  if (seqs.count == 0) return;
  if (!seqs.ids || !seqs.offsets || !out) throw InvalidArgument("encode_ids: null buffer");
  if (options.batch_size < 1) {
    throw InvalidArgument("batch_size must be at least 1, got " +
                          std::to_string(options.batch_size));
  }
  if (options.prompt_length < 0) {
    throw InvalidArgument("prompt_length must not be negative, got " +
                          std::to_string(options.prompt_length));
  }
  if (options.prompt_length > 0 && std::find(im.model.inputs.begin(), im.model.inputs.end(),
                                             "prompt_length") == im.model.inputs.end()) {
    throw InvalidArgument("prompt_length applies to models whose pooling leaves the prompt "
                          "out (exported with include_prompt=false); " + im.model.path +
                          " pools every token");
  }
  const int64_t max_len = im.model.config.max_seq_length;
  if (seqs.offsets[0] != 0) throw InvalidArgument("encode_ids: offsets[0] must be 0");
  for (size_t i = 0; i < seqs.count; ++i) {
    const int64_t n = seqs.offsets[i + 1] - seqs.offsets[i];
    if (n < 0) {
      throw InvalidArgument("encode_ids: offsets must not decrease (at sequence " +
                            std::to_string(i) + ")");
    }
    if (max_len > 0 && n > max_len) {
      throw InvalidArgument("sequence " + std::to_string(i) + " has " + std::to_string(n) +
                            " tokens, more than max_seq_length " + std::to_string(max_len));
    }
  }

  if (im.static_model) {
    im.static_model->embed_ids(seqs, out, im.threads, options.cancel, options.progress);
    return;
  }
  const engine::BatchPlan plan = engine::plan_batches(
      seqs.offsets, seqs.count, static_cast<size_t>(options.batch_size), im.max_batch_tokens);
  Ort::Session& run_session = im.session_for(plan.batches.size());
  const size_t n_batches = plan.batches.size();
  std::vector<BatchBuffers> buffers(parallel_workers(n_batches, im.workers));
  RunsInFlight runs;
  CancelToken::Subscription stop_runs;
  if (options.cancel) stop_runs = options.cancel->on_cancel([&runs] { runs.terminate_all(); });
  std::atomic<size_t> done{0};
  try {
    parallel_for(n_batches, im.workers, options.cancel, [&](size_t b, size_t worker) {
      const engine::Batch& batch = plan.batches[b];
      im.run_batch(run_session, plan, batch, seqs, buffers[worker], out, runs, options);
      const size_t rows = batch.end - batch.begin;
      const size_t now = done.fetch_add(rows) + rows;
      if (worker == 0 && options.progress) options.progress(now);  // worker 0: calling thread
    });
  } catch (const Ort::Exception& e) {
    throw Error(std::string("ONNX Runtime failed while encoding: ") + e.what());
  }
  if (options.progress) options.progress(seqs.count);
}

}  // namespace fastsbert
