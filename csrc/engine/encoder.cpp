// Encoder: runs planned batches of token ids through one ONNX Runtime session and writes
// each embedding straight into the caller's buffer at its input position.
#include "fastsbert/encoder.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <mutex>
#include <system_error>
#include <thread>

#include "engine/batcher.h"
#include "engine/model_dir.h"
#include "engine/io_binding.h"
#include "engine/ort_runtime.h"
#include "engine/precision.h"
#include "fastsbert/tokenizer.h"

namespace fastsbert {

namespace {

int hardware_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

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
    if (!id.empty() && id.find_first_not_of("0123456789") == std::string::npos) {
      return std::atoi(id.c_str());
    }
  }
  throw Error("unknown device '" + device + "': expected 'cpu', 'cuda' or 'cuda:N'");
}

// Padded input tensors for one batch, reused across the batches a worker runs.
struct BatchBuffers {
  std::vector<int64_t> input_ids;
  std::vector<int64_t> attention_mask;
  std::vector<int64_t> token_type_ids;
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
  Ort::Session session{nullptr};
  std::vector<const char*> input_names;  // point into model.inputs
  std::string output_name;
  // Model calls in flight at once. On the CPU, W single-threaded calls on separate batches
  // beat one call split over W threads: small GEMMs and the many small ops of a BERT
  // layer do not parallelise well, and independent calls need no synchronisation.
  int workers = 1;
  int threads = 1;
  int64_t max_batch_tokens = engine::kCpuBatchTokens;
  // For calls that form a single batch (one text, a few short ones) parallel calls cannot
  // help, so a second session that splits operators over every thread serves them; it is
  // created on first use, so bulk-only users never pay its memory.
  Ort::SessionOptions latency_options{nullptr};
  mutable std::once_flag latency_once;
  mutable Ort::Session latency_session{nullptr};
  std::unique_ptr<Tokenizer> tokenizer;  // null when tokenizer.json is absent or unsupported
  std::string tokenizer_reason;

  Ort::Session& session_for(size_t batches) const;
  void run_batch(Ort::Session& run_session, const engine::BatchPlan& plan,
                 const engine::Batch& batch, const TokenSequences& seqs, BatchBuffers& buf,
                 float* out) const;
};

Encoder::Encoder(const std::string& model_dir, const EncoderOptions& options)
    : impl_(std::make_unique<Impl>()) {
  Impl& im = *impl_;
  im.model = engine::read_model_dir(model_dir);
  im.device = options.device;
  const int device_id = parse_device(options.device);
  auto& rt = engine::OrtRuntime::get(options.ort_library);
  im.device_id = device_id;
  const engine::PrecisionChoice precision =
      engine::choose_precision(im.model.path, options.dtype, device_id >= 0);
  im.model.onnx_path = precision.onnx_path;
  im.dtype = precision.dtype;
  const char* io_binding_env = std::getenv("FASTSBERT_IO_BINDING");
  im.io_binding = device_id >= 0 || (io_binding_env && std::string(io_binding_env) == "1");

  const int threads = options.threads > 0 ? options.threads : hardware_threads();
  im.threads = threads;
  im.max_batch_tokens = env_int(
      "FASTSBERT_BATCH_TOKENS",
      static_cast<int>(device_id >= 0 ? engine::kCudaBatchTokens : engine::kCpuBatchTokens));
  Ort::SessionOptions so;
  so.SetGraphOptimizationLevel(GraphOptimizationLevel::ORT_ENABLE_ALL);
  so.SetExecutionMode(ExecutionMode::ORT_SEQUENTIAL);
  so.SetInterOpNumThreads(1);
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
      im.latency_options = so.Clone();
      im.latency_options.SetIntraOpNumThreads(threads);
    }
    so.SetIntraOpNumThreads(std::max(1, threads / im.workers));
    // Spinning threads burn the cores the other workers need.
    so.AddConfigEntry("session.intra_op.allow_spinning", "0");
  }

  try {
    im.session = Ort::Session(rt.env(), im.model.onnx_path.c_str(), so);
  } catch (const Ort::Exception& e) {
    throw Error("cannot load " + im.model.onnx_path + ": " + e.what());
  }

  // The graph's inputs must be the ones fastsbert.json names (input_ids, attention_mask and
  // optionally token_type_ids), and it must have exactly one output: the embedding.
  Ort::AllocatorWithDefaultOptions alloc;
  const size_t n_in = im.session.GetInputCount();
  if (n_in != im.model.inputs.size()) {
    throw Error(im.model.onnx_path + " has " + std::to_string(n_in) +
                " inputs but fastsbert.json lists " + std::to_string(im.model.inputs.size()));
  }
  for (size_t i = 0; i < n_in; ++i) {
    const std::string name = im.session.GetInputNameAllocated(i, alloc).get();
    if (name != "input_ids" && name != "attention_mask" && name != "token_type_ids") {
      throw Error(im.model.onnx_path + ": unsupported graph input '" + name + "'");
    }
    im.model.inputs[i] = name;
  }
  for (const auto& name : im.model.inputs) im.input_names.push_back(name.c_str());
  if (im.session.GetOutputCount() != 1) {
    throw Error(im.model.onnx_path + ": expected one output (the sentence embedding)");
  }
  im.output_name = im.session.GetOutputNameAllocated(0, alloc).get();

  const std::string tokenizer_path = im.model.path + "/tokenizer.json";
  try {
    im.tokenizer = std::make_unique<Tokenizer>(Tokenizer::from_file(tokenizer_path));
  } catch (const UnsupportedTokenizer& e) {
    im.tokenizer_reason = e.what();
  } catch (const Error& e) {
    std::ifstream probe(tokenizer_path);
    if (probe) throw Error("corrupt " + tokenizer_path + ": " + e.what());
    im.tokenizer_reason = "model directory " + im.model.path + " has no tokenizer.json";
  }
}

bool Encoder::has_tokenizer() const { return impl_->tokenizer != nullptr; }
const std::string& Encoder::tokenizer_unavailable_reason() const {
  return impl_->tokenizer_reason;
}

void Encoder::encode(const std::vector<std::string_view>& texts, float* out,
                     const EncodeOptions& options) const {
  const Impl& im = *impl_;
  if (!im.tokenizer) throw Error("cannot tokenize text: " + im.tokenizer_reason);
  std::vector<int64_t> ids, offsets;
  im.tokenizer->encode_batch_csr(texts, ids, offsets,
                                 static_cast<size_t>(im.model.config.max_seq_length), im.threads);
  encode_ids(TokenSequences{ids.data(), offsets.data(), texts.size()}, out, options);
}

Encoder::~Encoder() = default;
Encoder::Encoder(Encoder&&) noexcept = default;
Encoder& Encoder::operator=(Encoder&&) noexcept = default;

const ModelConfig& Encoder::config() const { return impl_->model.config; }
const std::string& Encoder::model_dir() const { return impl_->model.path; }
const std::string& Encoder::dtype() const { return impl_->dtype; }

Ort::Session& Encoder::Impl::session_for(size_t batches) const {
  if (batches != 1 || !latency_options) return const_cast<Ort::Session&>(session);
  std::call_once(latency_once, [this] {
    auto& rt = engine::OrtRuntime::get("");
    latency_session = Ort::Session(rt.env(), model.onnx_path.c_str(), latency_options);
  });
  return latency_session;
}

void Encoder::Impl::run_batch(Ort::Session& run_session, const engine::BatchPlan& plan,
                              const engine::Batch& batch, const TokenSequences& seqs,
                              BatchBuffers& buf, float* out) const {
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
    std::fill_n(&buf.attention_mask[static_cast<size_t>(r * len)], n, int64_t{1});
  }

  const std::array<int64_t, 2> shape{rows, len};
  auto mem = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  std::vector<Ort::Value> values;
  values.reserve(input_names.size());
  for (const auto& name : model.inputs) {
    std::vector<int64_t>& src = name == "input_ids"        ? buf.input_ids
                                : name == "attention_mask" ? buf.attention_mask
                                                           : buf.token_type_ids;
    values.push_back(Ort::Value::CreateTensor<int64_t>(mem, src.data(), cells, shape.data(),
                                                       shape.size()));
  }
  const char* out_name = output_name.c_str();
  auto result =
      io_binding
          ? engine::run_bound(run_session, input_names, values, out_name)
          : run_session.Run(Ort::RunOptions{nullptr}, input_names.data(), values.data(),
                            values.size(), &out_name, 1);

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
  if (!seqs.ids || !seqs.offsets || !out) throw Error("encode_ids: null buffer");
  if (options.batch_size < 1) throw Error("batch_size must be at least 1");
  const int64_t max_len = im.model.config.max_seq_length;
  if (seqs.offsets[0] != 0) throw Error("encode_ids: offsets[0] must be 0");
  for (size_t i = 0; i < seqs.count; ++i) {
    const int64_t n = seqs.offsets[i + 1] - seqs.offsets[i];
    if (n < 0) throw Error("encode_ids: offsets must not decrease (at sequence " + std::to_string(i) + ")");
    if (n > max_len) {
      throw Error("sequence " + std::to_string(i) + " has " + std::to_string(n) +
                  " tokens, more than max_seq_length " + std::to_string(max_len));
    }
  }

  const engine::BatchPlan plan = engine::plan_batches(
      seqs.offsets, seqs.count, static_cast<size_t>(options.batch_size), im.max_batch_tokens);
  Ort::Session& run_session = im.session_for(plan.batches.size());
  std::atomic<size_t> next_batch{0};
  std::atomic<size_t> done{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex error_mutex;

  auto worker = [&](bool report) {
    BatchBuffers buf;
    try {
      for (;;) {
        if (failed.load(std::memory_order_relaxed)) return;
        const size_t b = next_batch.fetch_add(1);
        if (b >= plan.batches.size()) return;
        const engine::Batch& batch = plan.batches[b];
        im.run_batch(run_session, plan, batch, seqs, buf, out);
        const size_t now = done.fetch_add(batch.end - batch.begin) + (batch.end - batch.begin);
        if (report && options.progress) options.progress(now);
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      failed = true;
    }
  };

  const size_t extra = std::min<size_t>(static_cast<size_t>(im.workers), plan.batches.size()) - 1;
  std::vector<std::thread> threads;
  threads.reserve(extra);
  for (size_t t = 0; t < extra; ++t) {
    try {
      threads.emplace_back(worker, false);
    } catch (const std::system_error&) {
      break;  // no more threads to be had: the ones running (and this one) do the work
    }
  }
  worker(true);
  for (auto& t : threads) t.join();

  if (error) {
    try {
      std::rethrow_exception(error);
    } catch (const Ort::Exception& e) {
      throw Error(std::string("ONNX Runtime failed while encoding: ") + e.what());
    }
  }
  if (options.progress) options.progress(seqs.count);
}

}  // namespace fastsbert
