// The only file that knows about Python: builds the private module fastsbert._core over
// the plain C++ library. Inputs are checked and viewed without copying while the GIL is
// held; the GIL is released once for the whole native call; outputs are allocated once.
// Long calls run on a helper thread while the calling thread watches for Ctrl-C.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>

#include "common/cpu_features.h"
#include "fastsbert/cancel.h"
#include "fastsbert/encoder.h"
#include "fastsbert/errors.h"
#include "fastsbert/hamming.h"
#include "fastsbert/threads.h"
#include "fastsbert/tokenizer.h"
#include "fastsbert/topk.h"
#include "fastsbert/version.h"
#include "static/embedding_bag.h"

namespace py = pybind11;

namespace {

// ---------------------------------------------------------------- errors
// Python classes of the C++ errors (fastsbert/errors.h). Each also derives from the builtin
// a Python caller expects, and all from FastsbertError (a RuntimeError).
struct ErrorClasses {
  py::handle base, invalid_argument, corrupt_file, missing_file, cancelled, unsupported_tokenizer;
};
ErrorClasses error_classes;

py::handle add_error_class(py::module_& m, const char* name, std::vector<py::handle> bases,
                           const char* doc) {
  py::tuple base_tuple(bases.size());
  for (size_t i = 0; i < bases.size(); ++i) {
    base_tuple[i] = py::reinterpret_borrow<py::object>(bases[i]);
  }
  const std::string qualified = std::string("fastsbert._core.") + name;
  PyObject* cls = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, base_tuple.ptr(), nullptr);
  if (!cls) throw py::error_already_set();
  m.add_object(name, py::reinterpret_steal<py::object>(cls));
  return cls;  // the module holds the reference
}

void register_errors(py::module_& m) {
  ErrorClasses& c = error_classes;
  c.base = add_error_class(m, "FastsbertError", {PyExc_RuntimeError},
                           "Base of fastsbert's native errors; raised as such for runtime "
                           "failures (ONNX Runtime cannot load or run the model).");
  c.invalid_argument = add_error_class(m, "InvalidArgumentError", {c.base, PyExc_ValueError},
                                       "A bad argument value (device, thread count, text).");
  c.corrupt_file = add_error_class(m, "CorruptFileError", {c.invalid_argument},
                                   "A malformed model or tokenizer file; the message names "
                                   "the file, the key and the value.");
  c.missing_file = add_error_class(m, "MissingFileError", {c.base, PyExc_FileNotFoundError},
                                   "A missing model directory or file; the message names it.");
  c.cancelled = add_error_class(m, "CancelledError", {c.base},
                                "A native call was cancelled before it finished.");
  c.unsupported_tokenizer = add_error_class(
      m, "UnsupportedTokenizerError", {c.base},
      "A valid tokenizer.json using a component the native tokenizer does not reproduce.");
  py::register_exception_translator([](std::exception_ptr p) {
    const ErrorClasses& c = error_classes;
    try {
      if (p) std::rethrow_exception(p);
    } catch (const fastsbert::UnsupportedTokenizer& e) {
      PyErr_SetString(c.unsupported_tokenizer.ptr(), e.what());
    } catch (const fastsbert::CorruptFile& e) {
      PyErr_SetString(c.corrupt_file.ptr(), e.what());
    } catch (const fastsbert::InvalidArgument& e) {
      PyErr_SetString(c.invalid_argument.ptr(), e.what());
    } catch (const fastsbert::MissingFile& e) {
      PyErr_SetString(c.missing_file.ptr(), e.what());
    } catch (const fastsbert::Cancelled& e) {
      PyErr_SetString(c.cancelled.ptr(), e.what());
    } catch (const fastsbert::Error& e) {
      PyErr_SetString(c.base.ptr(), e.what());
    }
  });
}

// ---------------------------------------------------------------- interruption
// How often the calling thread runs Python's signal handlers while native work runs: short
// enough that Ctrl-C feels immediate, long enough to cost nothing.
constexpr auto kSignalPollInterval = std::chrono::milliseconds(20);

// Progress of a native call, handed from the native threads to the calling thread, which
// alone calls the Python callback (with the GIL held).
class ProgressRelay {
 public:
  explicit ProgressRelay(py::object callback) : callback_(std::move(callback)) {}
  // The C++ progress option: records the count; never touches Python.
  std::function<void(size_t)> sink() {
    if (callback_.is_none()) return {};
    return [this](size_t done) {
      done_.store(done, std::memory_order_relaxed);
      changed_.store(true, std::memory_order_release);
    };
  }
  // Calls the Python callback when the count changed since the last report. GIL held.
  void report() {
    if (!callback_.is_none() && changed_.exchange(false, std::memory_order_acquire)) {
      callback_(done_.load(std::memory_order_relaxed));
    }
  }

 private:
  py::object callback_;
  std::atomic<size_t> done_{0};
  std::atomic<bool> changed_{false};
};

// Threads that run native calls for Python callers (see run_interruptible). They are kept
// between calls: a thread started per call would pay its start, and ONNX Runtime's and the
// GEMM library's per-thread state, on every call, which single-sentence latency feels. A
// call takes an idle one or starts one, so concurrent callers each get their own. The
// threads are detached and never end; a forked child starts afresh (the parent's threads do
// not exist there).
class CallThreads {
 public:
  class Worker {
   public:
    // Hands `task` (which must not throw) to this worker.
    void start(std::function<void()> task) {
      std::lock_guard<std::mutex> lock(mutex_);
      task_ = std::move(task);
      running_ = true;
      cv_.notify_all();
    }
    // Waits up to `timeout` for the task to finish; returns whether it has.
    template <typename Duration>
    bool wait_for(Duration timeout) {
      std::unique_lock<std::mutex> lock(mutex_);
      return cv_.wait_for(lock, timeout, [&] { return !running_; });
    }

   private:
    friend class CallThreads;
    void loop() {
      std::unique_lock<std::mutex> lock(mutex_);
      for (;;) {
        cv_.wait(lock, [&] { return running_; });
        std::function<void()> task = std::move(task_);
        lock.unlock();
        task();
        lock.lock();
        running_ = false;
        cv_.notify_all();
      }
    }
    std::mutex mutex_;
    std::condition_variable cv_;
    std::function<void()> task_;
    bool running_ = false;
  };

  // An idle worker, or a new one; nullptr when no thread can be started.
  static Worker* acquire() {
    CallThreads& self = instance();
    {
      std::lock_guard<std::mutex> lock(self.mutex_);
      if (!self.idle_.empty()) {
        Worker* w = self.idle_.back();
        self.idle_.pop_back();
        return w;
      }
    }
    auto w = std::make_unique<Worker>();
    try {
      std::thread(&Worker::loop, w.get()).detach();
    } catch (const std::system_error&) {
      return nullptr;
    }
    return w.release();  // lives as long as its thread: for the whole process
  }
  // Returns a worker whose task has finished.
  static void release(Worker* w) {
    CallThreads& self = instance();
    std::lock_guard<std::mutex> lock(self.mutex_);
    self.idle_.push_back(w);
  }

 private:
  static CallThreads*& current() {
    static CallThreads* threads = [] {
      pthread_atfork(nullptr, nullptr, [] { current() = new CallThreads; });
      return new CallThreads;
    }();
    return threads;
  }
  static CallThreads& instance() { return *current(); }
  std::mutex mutex_;
  std::vector<Worker*> idle_;
};

// Runs `work` (native code that touches no Python object) on a call thread. The calling
// thread, which holds the GIL on entry, waits with the GIL released and every
// kSignalPollInterval takes it back to run signal handlers and report progress; so it is
// never inside a long model call when Ctrl-C comes. A Python exception raised meanwhile
// (KeyboardInterrupt, or one from the progress callback) cancels the work through `cancel`,
// waits for it to stop, and propagates; the objects involved stay usable.
template <typename Work>
void run_interruptible(fastsbert::CancelToken& cancel, Work&& work,
                       ProgressRelay* progress = nullptr) {
  std::exception_ptr error;
  auto body = [&]() noexcept {
    try {
      work();
    } catch (...) {
      error = std::current_exception();
    }
  };
  CallThreads::Worker* worker = CallThreads::acquire();
  if (!worker) {
    // No thread to be had: run here, uninterruptible but correct.
    py::gil_scoped_release nogil;
    body();
  } else {
    worker->start(body);
    try {
      for (bool done = false; !done;) {
        {
          py::gil_scoped_release nogil;
          done = worker->wait_for(kSignalPollInterval);
        }
        if (progress) progress->report();
        if (!done && PyErr_CheckSignals() != 0) throw py::error_already_set();
      }
    } catch (...) {
      cancel.cancel();
      {
        py::gil_scoped_release nogil;
        while (!worker->wait_for(std::chrono::hours(1))) {
        }
      }
      CallThreads::release(worker);
      throw;
    }
    CallThreads::release(worker);
  }
  if (error) std::rethrow_exception(error);
  if (progress) progress->report();
}

// Checks that `a` is a C-contiguous 1-D array of dtype T; never casts.
template <typename T>
py::array_t<T> require_1d(const py::array& a, const char* name) {
  if (!py::isinstance<py::array_t<T>>(a) || !a.dtype().is(py::dtype::of<T>())) {
    throw py::type_error(std::string(name) + ": expected a numpy array of dtype " +
                         std::string(py::str(py::dtype::of<T>())) + ", got " +
                         std::string(py::str(a.dtype())));
  }
  if (a.ndim() != 1) throw py::value_error(std::string(name) + ": expected a 1-D array");
  if (!(a.flags() & py::array::c_style)) {
    throw py::value_error(std::string(name) + ": expected a C-contiguous array");
  }
  return py::reinterpret_borrow<py::array_t<T>>(a);
}

// UTF-8 views of a list of str (no copy: CPython caches each str's UTF-8 form). `keep`
// holds references so the views stay valid after the GIL is released.
std::vector<std::string_view> utf8_views(const py::list& texts, std::vector<py::object>& keep) {
  std::vector<std::string_view> views;
  const size_t n = texts.size();
  views.reserve(n);
  keep.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    py::object item = texts[i];
    if (!PyUnicode_Check(item.ptr())) {
      throw py::type_error("texts[" + std::to_string(i) + "] is " +
                           std::string(Py_TYPE(item.ptr())->tp_name) + ", expected str");
    }
    Py_ssize_t size = 0;
    const char* data = PyUnicode_AsUTF8AndSize(item.ptr(), &size);
    if (!data) {
      PyErr_Clear();
      throw py::value_error("texts[" + std::to_string(i) + "] cannot be encoded as UTF-8 (lone surrogate?)");
    }
    views.emplace_back(data, static_cast<size_t>(size));
    keep.push_back(std::move(item));
  }
  return views;
}

// A batch of texts as a list: a list as is, another ordered iterable (tuple, generator)
// copied into one. A single str and unordered collections are refused, naming the problem.
py::list text_list(const py::handle& texts) {
  if (PyList_Check(texts.ptr())) return py::reinterpret_borrow<py::list>(texts);
  if (PyUnicode_Check(texts.ptr())) {
    throw py::type_error("texts must be a list of str, got a single str (use encode())");
  }
  if (PyBytes_Check(texts.ptr()) || PyByteArray_Check(texts.ptr())) {
    throw py::type_error("texts must be a list of str, got bytes (decode it first)");
  }
  if (PyAnySet_Check(texts.ptr()) || PyDict_Check(texts.ptr())) {
    throw py::type_error(std::string("texts must be an ordered sequence, got ") +
                         Py_TYPE(texts.ptr())->tp_name);
  }
  return py::list(py::reinterpret_borrow<py::object>(texts));
}

// ---------------------------------------------------------------- engine
py::array_t<float> encoder_encode_ids(const fastsbert::Encoder& self, const py::array& ids_in,
                                      const py::array& offsets_in, int batch_size,
                                      py::object progress, int64_t prompt_length,
                                      const std::optional<py::array>& type_ids_in) {
  auto ids = require_1d<int64_t>(ids_in, "ids");
  auto offsets = require_1d<int64_t>(offsets_in, "offsets");
  std::optional<py::array_t<int64_t>> type_ids;
  if (type_ids_in) {
    type_ids = require_1d<int64_t>(*type_ids_in, "type_ids");
    if (type_ids->size() != ids.size()) {
      throw py::value_error("type_ids: expected one entry per token id (" +
                            std::to_string(ids.size()) + "), got " +
                            std::to_string(type_ids->size()));
    }
  }
  if (offsets.size() < 1) throw py::value_error("offsets: expected n + 1 entries");
  const size_t n = static_cast<size_t>(offsets.size() - 1);
  py::array_t<float> out({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(self.dim())});

  fastsbert::TokenSequences seqs;
  seqs.ids = ids.data();
  seqs.offsets = offsets.data();
  seqs.count = n;
  if (type_ids) seqs.type_ids = type_ids->data();
  if (n > 0 && offsets.at(n) != ids.size()) {
    throw py::value_error("offsets: last entry must equal len(ids)");
  }
  fastsbert::CancelToken cancel;
  ProgressRelay relay(std::move(progress));
  fastsbert::EncodeOptions opts;
  opts.batch_size = batch_size;
  opts.progress = relay.sink();
  opts.cancel = &cancel;
  opts.prompt_length = prompt_length;
  float* dst = out.mutable_data();
  run_interruptible(cancel, [&] { self.encode_ids(seqs, dst, opts); }, &relay);
  return out;
}

py::array_t<float> encoder_encode_texts(const fastsbert::Encoder& self, const py::list& texts,
                                        int batch_size, const py::object& progress,
                                        int64_t prompt_length) {
  std::vector<py::object> keep;
  const auto views = utf8_views(texts, keep);
  py::array_t<float> out({static_cast<py::ssize_t>(views.size()),
                          static_cast<py::ssize_t>(self.dim())});
  fastsbert::CancelToken cancel;
  ProgressRelay relay(progress);
  fastsbert::EncodeOptions opts;
  opts.batch_size = batch_size;
  opts.progress = relay.sink();
  opts.cancel = &cancel;
  opts.prompt_length = prompt_length;
  float* dst = out.mutable_data();
  run_interruptible(cancel, [&] { self.encode(views, dst, opts); }, &relay);
  return out;
}

// The two sides of text pairs as UTF-8 views: `first` and `second` are lists of str of
// the same length (checked by the caller's message naming them).
std::pair<std::vector<std::string_view>, std::vector<std::string_view>> pair_views(
    const py::object& first, const py::object& second, std::vector<py::object>& keep) {
  const py::list a = text_list(first), b = text_list(second);
  if (a.size() != b.size()) {
    throw py::value_error("pairs: " + std::to_string(a.size()) + " first texts but " +
                          std::to_string(b.size()) + " second texts");
  }
  return {utf8_views(a, keep), utf8_views(b, keep)};
}

py::array_t<float> encoder_encode_pairs(const fastsbert::Encoder& self, const py::object& first,
                                        const py::object& second, int batch_size,
                                        const py::object& progress) {
  std::vector<py::object> keep;
  const auto [a, b] = pair_views(first, second, keep);
  py::array_t<float> out({static_cast<py::ssize_t>(a.size()),
                          static_cast<py::ssize_t>(self.dim())});
  fastsbert::CancelToken cancel;
  ProgressRelay relay(progress);
  fastsbert::EncodeOptions opts;
  opts.batch_size = batch_size;
  opts.progress = relay.sink();
  opts.cancel = &cancel;
  float* dst = out.mutable_data();
  run_interruptible(cancel, [&, &a = a, &b = b] { self.encode_pairs(a, b, dst, opts); }, &relay);
  return out;
}

// ---------------------------------------------------------------- topk
// Checks that `a` is a C-contiguous 2-D float32 array and views it; never casts.
fastsbert::MatrixView require_matrix(const py::array& a, const char* name) {
  if (!a.dtype().is(py::dtype::of<float>())) {
    throw py::type_error(std::string(name) + ": expected a numpy array of dtype float32, got " +
                         std::string(py::str(a.dtype())) + " (convert with .astype(np.float32))");
  }
  if (a.ndim() != 2) {
    throw py::value_error(std::string(name) + ": expected a 2-D array (n, dim), got " +
                          std::to_string(a.ndim()) + "-D");
  }
  if (!(a.flags() & py::array::c_style)) {
    throw py::value_error(std::string(name) +
                          ": expected a C-contiguous array (use np.ascontiguousarray)");
  }
  return {static_cast<const float*>(a.data()), static_cast<size_t>(a.shape(0)),
          static_cast<size_t>(a.shape(1))};
}

fastsbert::Metric parse_metric(const std::string& metric) {
  if (metric == "cosine") return fastsbert::Metric::cosine;
  if (metric == "dot") return fastsbert::Metric::dot;
  throw py::value_error("metric: expected \"cosine\" or \"dot\", got \"" + metric + "\"");
}

size_t require_count(int64_t v, const char* name) {
  if (v < 0) throw py::value_error(std::string(name) + ": must be >= 0");
  return static_cast<size_t>(v);
}

// Hands a vector's buffer to NumPy without copying it.
template <typename T>
py::array_t<T> adopt(std::vector<T>&& v, std::vector<py::ssize_t> shape) {
  auto owned = std::make_unique<std::vector<T>>(std::move(v));
  const T* data = owned->data();
  py::capsule owner(owned.get(), [](void* p) { delete static_cast<std::vector<T>*>(p); });
  owned.release();
  return py::array_t<T>(shape, data, owner);
}

py::tuple topk_topk(const py::array& queries_in, const py::object& corpus_in, int64_t k_in,
                    const std::string& metric, int threads, const std::string& device) {
  const auto queries = require_matrix(queries_in, "queries");
  const bool self = corpus_in.is_none();
  const auto corpus = self ? queries : require_matrix(corpus_in.cast<py::array>(), "corpus");
  const size_t k = require_count(k_in, "k");
  fastsbert::CancelToken cancel;
  fastsbert::TopkOptions o;
  o.metric = parse_metric(metric);
  o.threads = threads;
  o.device = device;
  o.cancel = &cancel;
  const size_t n = self ? (corpus.rows == 0 ? 0 : corpus.rows - 1) : corpus.rows;
  const auto q = static_cast<py::ssize_t>(queries.rows);
  const auto kk = static_cast<py::ssize_t>(fastsbert::topk_columns(k, n));
  py::array_t<float> scores({q, kk});
  py::array_t<int64_t> indices({q, kk});
  float* s = scores.mutable_data();
  int64_t* i = indices.mutable_data();
  run_interruptible(cancel, [&] {
    if (self) {
      fastsbert::topk_self(queries, k, s, i, o);
    } else {
      fastsbert::topk_search(queries, corpus, k, s, i, o);
    }
  });
  return py::make_tuple(scores, indices);
}

// Checks that `a` is a C-contiguous 2-D uint8 array of packed bit vectors; never casts.
fastsbert::PackedView require_packed(const py::array& a, const char* name) {
  if (!a.dtype().is(py::dtype::of<uint8_t>())) {
    throw py::type_error(std::string(name) + ": expected packed bits as a numpy array of dtype "
                         "uint8, got " + std::string(py::str(a.dtype())));
  }
  if (a.ndim() != 2) throw py::value_error(std::string(name) + ": expected a 2-D array (n, bytes)");
  if (!(a.flags() & py::array::c_style)) {
    throw py::value_error(std::string(name) +
                          ": expected a C-contiguous array (use np.ascontiguousarray)");
  }
  return {static_cast<const uint8_t*>(a.data()), static_cast<size_t>(a.shape(0)),
          static_cast<size_t>(a.shape(1))};
}

py::tuple topk_hamming(const py::array& queries_in, const py::array& corpus_in, int64_t k_in,
                       int threads) {
  const auto queries = require_packed(queries_in, "queries");
  const auto corpus = require_packed(corpus_in, "corpus");
  const size_t k = require_count(k_in, "k");
  fastsbert::CancelToken cancel;
  fastsbert::TopkOptions o;
  o.threads = threads;
  o.cancel = &cancel;
  const auto q = static_cast<py::ssize_t>(queries.rows);
  const auto kk = static_cast<py::ssize_t>(fastsbert::topk_columns(k, corpus.rows));
  py::array_t<int32_t> distances({q, kk});
  py::array_t<int64_t> indices({q, kk});
  int32_t* d = distances.mutable_data();
  int64_t* i = indices.mutable_data();
  run_interruptible(cancel, [&] { fastsbert::hamming_search(queries, corpus, k, d, i, o); });
  return py::make_tuple(distances, indices);
}

py::tuple rescore(const py::array& queries_in, const py::array& corpus_in,
                  const py::array& candidates_in, int64_t k_in, int threads) {
  const auto queries = require_matrix(queries_in, "rescore query");
  const auto corpus = require_matrix(corpus_in, "rescore corpus");
  if (!candidates_in.dtype().is(py::dtype::of<int64_t>()) || candidates_in.ndim() != 2 ||
      !(candidates_in.flags() & py::array::c_style) ||
      static_cast<size_t>(candidates_in.shape(0)) != queries.rows) {
    throw py::value_error("candidates: expected a C-contiguous int64 array (queries, m)");
  }
  const size_t per_query = static_cast<size_t>(candidates_in.shape(1));
  const size_t k = std::min(require_count(k_in, "k"), per_query);
  fastsbert::CancelToken cancel;
  fastsbert::TopkOptions o;
  o.threads = threads;
  o.cancel = &cancel;
  const auto q = static_cast<py::ssize_t>(queries.rows);
  py::array_t<float> scores({q, static_cast<py::ssize_t>(k)});
  py::array_t<int64_t> indices({q, static_cast<py::ssize_t>(k)});
  float* s = scores.mutable_data();
  int64_t* i = indices.mutable_data();
  const auto* cand = static_cast<const int64_t*>(candidates_in.data());
  run_interruptible(cancel, [&] {
    fastsbert::rescore_candidates(queries, corpus, cand, per_query, k, s, i, o);
  });
  return py::make_tuple(scores, indices);
}

py::tuple topk_pairs(const py::array& x_in, int64_t k, int64_t max_pairs,
                     const std::string& metric, int threads) {
  const auto x = require_matrix(x_in, "embeddings");
  fastsbert::CancelToken cancel;
  fastsbert::TopkOptions o;
  o.metric = parse_metric(metric);
  o.threads = threads;
  o.cancel = &cancel;
  fastsbert::ScoredPairs r;
  const size_t kc = require_count(k, "top_k"), mp = require_count(max_pairs, "max_pairs");
  run_interruptible(cancel, [&] { r = fastsbert::topk_pairs(x, kc, mp, o); });
  const auto count = static_cast<py::ssize_t>(r.scores.size());
  return py::make_tuple(adopt(std::move(r.scores), {count}),
                        adopt(std::move(r.pairs), {count, 2}));
}

py::tuple topk_communities(const py::array& x_in, double threshold, int64_t min_size,
                           int threads) {
  const auto x = require_matrix(x_in, "embeddings");
  fastsbert::CancelToken cancel;
  fastsbert::TopkOptions o;
  o.threads = threads;
  o.cancel = &cancel;
  fastsbert::Communities r;
  const size_t ms = require_count(min_size, "min_community_size");
  run_interruptible(
      cancel, [&] { r = fastsbert::topk_communities(x, static_cast<float>(threshold), ms, o); });
  const auto n_off = static_cast<py::ssize_t>(r.offsets.size());
  const auto n_mem = static_cast<py::ssize_t>(r.members.size());
  return py::make_tuple(adopt(std::move(r.offsets), {n_off}), adopt(std::move(r.members), {n_mem}));
}

// ---------------------------------------------------------------- tokenizer
void tokenize_interruptible(const fastsbert::Tokenizer& self,
                            const std::vector<std::string_view>& texts, std::vector<int64_t>& ids,
                            std::vector<int64_t>& offsets, size_t max_length, int threads) {
  fastsbert::CancelToken cancel;
  run_interruptible(
      cancel, [&] { self.encode_batch_csr(texts, ids, offsets, max_length, threads, &cancel); });
}

// CSR token ids as two 1-D int64 arrays that take over the vectors' buffers.
py::tuple csr_arrays(std::vector<int64_t>&& ids, std::vector<int64_t>&& offsets) {
  const auto n_ids = static_cast<py::ssize_t>(ids.size());
  const auto n_off = static_cast<py::ssize_t>(offsets.size());
  return py::make_tuple(adopt(std::move(ids), {n_ids}), adopt(std::move(offsets), {n_off}));
}

// CSR pair encodings: (ids, type_ids, offsets), all 1-D int64.
py::tuple pair_csr_arrays(std::vector<int64_t>&& ids, std::vector<int64_t>&& type_ids,
                          std::vector<int64_t>&& offsets) {
  const auto n_ids = static_cast<py::ssize_t>(ids.size());
  const auto n_off = static_cast<py::ssize_t>(offsets.size());
  return py::make_tuple(adopt(std::move(ids), {n_ids}), adopt(std::move(type_ids), {n_ids}),
                        adopt(std::move(offsets), {n_off}));
}

py::tuple encoder_tokenize_pairs(const fastsbert::Encoder& self, const py::object& first,
                                 const py::object& second, size_t max_length) {
  std::vector<py::object> keep;
  const auto [a, b] = pair_views(first, second, keep);
  std::vector<int64_t> ids, types, offsets;
  fastsbert::CancelToken cancel;
  run_interruptible(cancel, [&, &a = a, &b = b] {
    self.tokenize_pairs(a, b, ids, types, offsets, max_length, &cancel);
  });
  return pair_csr_arrays(std::move(ids), std::move(types), std::move(offsets));
}

py::tuple tokenizer_encode_pairs_csr(const fastsbert::Tokenizer& self, const py::object& first,
                                     const py::object& second, size_t max_length, int threads) {
  std::vector<py::object> keep;
  const auto [a, b] = pair_views(first, second, keep);
  std::vector<int64_t> ids, types, offsets;
  fastsbert::CancelToken cancel;
  run_interruptible(cancel, [&, &a = a, &b = b] {
    self.encode_pair_batch_csr(a, b, ids, types, offsets, max_length, threads, &cancel);
  });
  return pair_csr_arrays(std::move(ids), std::move(types), std::move(offsets));
}

py::tuple encoder_tokenize(const fastsbert::Encoder& self, const py::list& texts,
                           size_t max_length) {
  std::vector<py::object> keep;
  const auto views = utf8_views(texts, keep);
  std::vector<int64_t> ids, offsets;
  fastsbert::CancelToken cancel;
  run_interruptible(cancel, [&] { self.tokenize(views, ids, offsets, max_length, &cancel); });
  return csr_arrays(std::move(ids), std::move(offsets));
}

py::tuple tokenizer_encode_csr(const fastsbert::Tokenizer& self, const py::object& texts,
                               size_t max_length, int threads) {
  std::vector<py::object> keep;
  const auto views = utf8_views(text_list(texts), keep);
  std::vector<int64_t> ids, offsets;
  tokenize_interruptible(self, views, ids, offsets, max_length, threads);
  return csr_arrays(std::move(ids), std::move(offsets));
}

py::tuple tokenizer_encode_padded(const fastsbert::Tokenizer& self, const py::object& texts,
                                  size_t max_length, int threads, std::optional<int64_t> pad) {
  // The file's padding id by default (0 when it has no padding section).
  const int64_t pad_id = pad ? *pad : std::max<int64_t>(self.pad_token_id(), 0);
  std::vector<py::object> keep;
  const auto views = utf8_views(text_list(texts), keep);
  std::vector<int64_t> ids, offsets;
  tokenize_interruptible(self, views, ids, offsets, max_length, threads);
  const size_t n = views.size();
  size_t width = 0;
  for (size_t i = 0; i < n; ++i) width = std::max<size_t>(width, static_cast<size_t>(offsets[i + 1] - offsets[i]));
  py::array_t<int64_t> out_ids({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(width)});
  py::array_t<int64_t> out_mask({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(width)});
  int64_t* dst = out_ids.mutable_data();
  int64_t* mask = out_mask.mutable_data();
  {
    py::gil_scoped_release nogil;
    for (size_t i = 0; i < n; ++i) {
      const size_t len = static_cast<size_t>(offsets[i + 1] - offsets[i]);
      std::copy(ids.begin() + offsets[i], ids.begin() + offsets[i + 1], dst + i * width);
      std::fill(dst + i * width + len, dst + (i + 1) * width, pad_id);
      std::fill(mask + i * width, mask + i * width + len, 1);
      std::fill(mask + i * width + len, mask + (i + 1) * width, 0);
    }
  }
  return py::make_tuple(out_ids, out_mask);
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "fastsbert native core (private; use the fastsbert package)";
  // A function rather than a __version__ attribute, so the generated stubs carry no copy.
  m.def("version", &fastsbert::version,
        "fastsbert's version (pyproject.toml's), as compiled into the native core.");
  register_errors(m);
  m.def("available_cpus", &fastsbert::available_cpus,
        "CPUs this process may run on (its affinity mask): what threads=0 means, and the cap "
        "on larger thread counts.");

  // ---------------------------------------------------------------- engine
  py::class_<fastsbert::Encoder>(m, "Encoder")
      .def(py::init([](const std::string& model_dir, const std::string& device, int threads,
                       const std::string& ort_library, const std::string& dtype) {
             fastsbert::EncoderOptions o;
             o.device = device;
             o.threads = threads;
             o.ort_library = ort_library;
             o.dtype = dtype;
             py::gil_scoped_release nogil;
             return std::make_unique<fastsbert::Encoder>(model_dir, o);
           }),
           py::arg("model_dir"), py::arg("device") = "cpu", py::arg("threads") = 0,
           py::arg("ort_library") = "", py::arg("dtype") = "float32")
      .def_property_readonly("dim", &fastsbert::Encoder::dim)
      .def_property_readonly("dtype", &fastsbert::Encoder::dtype)
      .def_property_readonly("max_seq_length", &fastsbert::Encoder::max_seq_length)
      .def_property_readonly("model_dir", &fastsbert::Encoder::model_dir)
      .def_property_readonly("pooling", [](const fastsbert::Encoder& e) { return e.config().pooling; })
      .def_property_readonly("engine", [](const fastsbert::Encoder& e) { return e.config().engine; },
                             "\"onnx\" (ONNX Runtime) or \"static\" (embedding-bag mean, no ONNX Runtime).")
      .def_property_readonly("normalize", [](const fastsbert::Encoder& e) { return e.config().normalize; })
      .def_property_readonly("pad_token_id", [](const fastsbert::Encoder& e) { return e.config().pad_token_id; })
      .def_property_readonly("has_tokenizer", &fastsbert::Encoder::has_tokenizer)
      .def_property_readonly("tokenizer_unavailable_reason",
                             &fastsbert::Encoder::tokenizer_unavailable_reason)
      .def("tokenize", &encoder_tokenize, py::arg("texts"), py::arg("max_length") = 0,
           "Token ids as the model sees them, CSR: (ids int64 (total,), offsets int64 (n + 1,)); "
           "each cut to max_length tokens (0: max_seq_length).")
      .def("encode_texts", &encoder_encode_texts, py::arg("texts"), py::arg("batch_size") = 32,
           py::arg("progress") = py::none(), py::arg("prompt_length") = 0,
           "Tokenizes natively and embeds; returns a (n, dim) float32 array in input order. "
           "prompt_length: leading tokens pooling leaves out (include_prompt=false models).")
      .def("encode_ids", &encoder_encode_ids, py::arg("ids"), py::arg("offsets"),
           py::arg("batch_size") = 32, py::arg("progress") = py::none(),
           py::arg("prompt_length") = 0, py::arg("type_ids") = py::none(),
           "Embeds CSR token sequences; returns a (n, dim) float32 array in input order. "
           "prompt_length: leading tokens pooling leaves out (include_prompt=false models); "
           "type_ids: int64 token type ids aligned with ids (None: all 0).")
      .def("tokenize_pairs", &encoder_tokenize_pairs, py::arg("first"), py::arg("second"),
           py::arg("max_length") = 0,
           "Text pairs as the model sees them, CSR: (ids int64 (total,), type_ids int64 "
           "(total,), offsets int64 (n + 1,)); each pair cut to max_length tokens "
           "(0: max_seq_length) longest first.")
      .def("encode_pairs", &encoder_encode_pairs, py::arg("first"), py::arg("second"),
           py::arg("batch_size") = 32, py::arg("progress") = py::none(),
           "Tokenizes text pairs natively and runs them; returns a (n, dim) float32 array "
           "(a cross-encoder's scores) in input order.");
  m.def("onnxruntime_version", &fastsbert::onnxruntime_version);

  // ---------------------------------------------------------------- tokenizer
  py::class_<fastsbert::Tokenizer>(m, "Tokenizer", R"doc(
A tokenizer.json pipeline (normalizer, pre-tokenizer, model, post-processor) run natively.

Token ids equal the `tokenizers` library's (special tokens added, the file's truncation
applied, padding ignored). Batch methods take a list (or another ordered iterable) of str,
release the GIL, spread the texts over `threads` threads (0: every available CPU) and
stop on Ctrl-C. `max_length` 0 keeps the file's truncation; a positive value cuts each
sequence to that many tokens, special tokens included.)doc")
      .def_static("from_file",
                  [](const py::object& path) {
                    const auto file = py::module_::import("os").attr("fspath")(path).cast<std::string>();
                    py::gil_scoped_release nogil;
                    return fastsbert::Tokenizer::from_file(file);
                  },
                  py::arg("path"),
                  "Loads a tokenizer.json (str or path-like); raises UnsupportedTokenizerError "
                  "naming a component the native tokenizer does not reproduce.")
      .def("encode",
           [](const fastsbert::Tokenizer& self, const py::object& text, size_t max_length) {
             if (!PyUnicode_Check(text.ptr())) {
               throw py::type_error(std::string("text must be a str, got ") + Py_TYPE(text.ptr())->tp_name);
             }
             py::list one;
             one.append(text);
             std::vector<py::object> keep;
             const auto views = utf8_views(one, keep);
             std::vector<int64_t> ids;
             {
               py::gil_scoped_release nogil;
               ids = self.encode(views[0], max_length);
             }
             return ids;
           },
           py::arg("text"), py::arg("max_length") = 0, "Token ids of one text (special tokens added).")
      .def("encode_batch",
           [](const fastsbert::Tokenizer& self, const py::object& texts, size_t max_length, int threads) {
             std::vector<py::object> keep;
             const auto views = utf8_views(text_list(texts), keep);
             std::vector<int64_t> ids, offsets;
             tokenize_interruptible(self, views, ids, offsets, max_length, threads);
             py::list out(views.size());
             for (size_t i = 0; i < views.size(); ++i) {
               py::list row(static_cast<size_t>(offsets[i + 1] - offsets[i]));
               for (int64_t k = offsets[i]; k < offsets[i + 1]; ++k) {
                 PyList_SET_ITEM(row.ptr(), k - offsets[i], PyLong_FromLongLong(ids[k]));
               }
               out[i] = std::move(row);
             }
             return out;
           },
           py::arg("texts"), py::arg("max_length") = 0, py::arg("threads") = 0,
           "Token ids of each text, as lists.")
      .def("encode_batch_csr", &tokenizer_encode_csr, py::arg("texts"), py::arg("max_length") = 0,
           py::arg("threads") = 0,
           "CSR token ids: ids int64 (total,) and offsets int64 (n + 1,); text i is "
           "ids[offsets[i]:offsets[i + 1]].")
      .def("encode_batch_padded", &tokenizer_encode_padded, py::arg("texts"), py::arg("max_length") = 0,
           py::arg("threads") = 0, py::arg("pad_id") = py::none(),
           "Padded token ids and attention mask, both int64 (n, longest sequence); pad_id "
           "defaults to the file's padding id (0 when it has none).")
      .def("encode_pairs_csr", &tokenizer_encode_pairs_csr, py::arg("first"), py::arg("second"),
           py::arg("max_length") = 0, py::arg("threads") = 0,
           "Text pairs (first[i], second[i]) joined by the post-processor's pair template, CSR: "
           "ids int64 (total,), type_ids int64 (total,), offsets int64 (n + 1,); each pair cut "
           "to max_length tokens (0: the file's truncation) by the file's strategy.")
      .def_property_readonly("num_special_tokens_pair",
                             &fastsbert::Tokenizer::num_special_tokens_pair,
                             "Special tokens the post-processor adds to a pair.")
      .def("token_to_id",
           [](const fastsbert::Tokenizer& self, const std::string& token) -> std::optional<int64_t> {
             const int64_t id = self.token_to_id(token);
             if (id < 0) return std::nullopt;
             return id;
           },
           py::arg("token"), "The id of a token of the vocabulary, or None.")
      .def_property_readonly("truncation_max_length", &fastsbert::Tokenizer::truncation_max_length,
                             "The file's truncation length (0 when the file has none).")
      .def_property_readonly("num_special_tokens", &fastsbert::Tokenizer::num_special_tokens,
                             "Special tokens the post-processor adds to one sequence.")
      .def_property_readonly("pad_token_id", &fastsbert::Tokenizer::pad_token_id,
                             "The file's padding id, or -1 when it has no padding section.");

  // ---------------------------------------------------------------- topk
  m.def("topk", &topk_topk, py::arg("queries"), py::arg("corpus"), py::arg("k"),
        py::arg("metric") = "cosine", py::arg("threads") = 0, py::arg("device") = "cpu",
        "Exact top-k: (scores (q, k') float32, indices (q, k') int64), best first. "
        "corpus=None searches queries against themselves without self pairs.");
  m.def("topk_pairs", &topk_pairs, py::arg("embeddings"), py::arg("top_k"),
        py::arg("max_pairs"), py::arg("metric") = "cosine", py::arg("threads") = 0,
        "Paraphrase mining: (scores (p,) float32, pairs (p, 2) int64 with i < j), best first.");
  m.def("topk_communities", &topk_communities, py::arg("embeddings"), py::arg("threshold"),
        py::arg("min_size"), py::arg("threads") = 0,
        "Community detection: (offsets (c + 1,) int64, members int64), largest first.");
  m.def("topk_simd_level", [] { return std::string(fastsbert::simd_level_name(fastsbert::topk_simd_level())); },
        "The SIMD level top-k runs with now: FASTSBERT_SIMD, else the fastest measured.");
  m.def("topk_simd_rates", [] {
        std::vector<std::pair<std::string, double>> out;
        for (const auto& r : fastsbert::topk_simd_rates())
          out.emplace_back(fastsbert::simd_level_name(r.level), r.gflops);
        return out;
      }, "(level, GFLOP/s on one thread) of the SIMD kernels the level was chosen from.");
  m.def("topk_simd_levels", [] {
        std::vector<std::string> out;
        for (auto l : fastsbert::topk_supported_simd_levels()) out.emplace_back(fastsbert::simd_level_name(l));
        return out;
      }, "SIMD levels this build carries and this machine runs.");
  m.def("topk_cuda_available", &fastsbert::topk_cuda_available);
  m.def("hamming_search", &topk_hamming, py::arg("queries"), py::arg("corpus"), py::arg("k"),
        py::arg("threads") = 0,
        "Exact Hamming top-k of packed uint8 bit vectors: (distances (q, k') int32, indices "
        "(q, k') int64), nearest first, ties to the lower index.");
  m.def("rescore", &rescore, py::arg("queries"), py::arg("corpus"), py::arg("candidates"),
        py::arg("k"), py::arg("threads") = 0,
        "Re-ranks candidate corpus rows (int64 (q, m)) by exact cosine similarity of the float "
        "vectors: (scores (q, k') float32, indices (q, k') int64), best first, ties to the "
        "lower index; only candidate rows are read.");
  m.def("hamming_simd_level",
        [] { return std::string(fastsbert::simd_level_name(fastsbert::hamming_simd_level())); },
        "The level the Hamming kernel runs with now (scalar, avx2: VPSHUFB nibble counts, avx512: "
        "VPOPCNTDQ).");
  m.def("static_simd_level",
        [] { return std::string(fastsbert::simd_level_name(fastsbert::static_embed::embedding_bag_level())); },
        "The level static models' embedding-bag mean runs with now (honours FASTSBERT_SIMD).");
  m.def("static_simd_levels", [] {
        std::vector<std::string> out;
        for (auto l : fastsbert::static_embed::embedding_bag_levels()) out.emplace_back(fastsbert::simd_level_name(l));
        return out;
      }, "Embedding-bag levels this build carries and this machine runs.");
  m.def("cpu_features", [] { return fastsbert::cpu_feature_names(fastsbert::cpu_features()); },
        "CPU features after FASTSBERT_CPU_FEATURES masking (ValueError for a bad value).");
  m.def("cpu_features_detected",
        [] { return fastsbert::cpu_feature_names(fastsbert::cpu_features_detected()); },
        "CPU features as detected (cpuid + xgetbv), before masking.");
  m.def("int8_is_fast", [] { return fastsbert::int8_is_fast(fastsbert::cpu_features()); },
        "Whether the CPU (after masking) has VNNI or AMX, which make int8 inference fast.");
}
