// embed_service: loads an exported model once and answers embedding requests from several
// worker threads sharing one fastsbert::Encoder.
//
// Protocol (one request per line on stdin, one answer per line on stdout):
//   request   ID<TAB>TEXT                 ID: any text without tab or newline; TEXT: UTF-8
//   answer    {"id":"ID","embedding":[...]}        (dim floats, 9 significant digits)
//   or        {"id":"ID","error":"..."}             (the service keeps going)
// Answers come in completion order, not input order: match them by id. Each worker takes
// up to --batch requests waiting in the queue and embeds them in one call, so a burst is
// batched and a lone request is answered at once. The reader blocks once --queue requests
// wait (backpressure). At end of input the queue drains, then the program exits 0.
//
// Usage: embed_service MODEL_DIR [--workers N] [--threads N] [--batch N] [--queue N]
//   --workers  worker threads (default 4)
//   --threads  ONNX Runtime threads of the shared Encoder (default 0: all CPUs)
// ONNX Runtime is opened at start: $FASTSBERT_ORT_LIBRARY, else libonnxruntime.so.1 from
// the loader's search path (see fastsbert/encoder.h, EncoderOptions::ort_library).
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <exception>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fastsbert/encoder.h>
#include <fastsbert/version.h>

namespace {

struct Request {
  std::string id;
  std::string text;
};

// A bounded FIFO: push blocks while full, pop_batch blocks while empty and returns
// false once the queue is closed and drained.
class RequestQueue {
 public:
  explicit RequestQueue(size_t capacity) : capacity_(capacity) {}

  void push(Request r) {
    std::unique_lock<std::mutex> lock(mutex_);
    not_full_.wait(lock, [&] { return items_.size() < capacity_; });
    items_.push_back(std::move(r));
    not_empty_.notify_one();
  }

  bool pop_batch(size_t max_items, std::vector<Request>& out) {
    out.clear();
    std::unique_lock<std::mutex> lock(mutex_);
    not_empty_.wait(lock, [&] { return !items_.empty() || closed_; });
    while (!items_.empty() && out.size() < max_items) {
      out.push_back(std::move(items_.front()));
      items_.pop_front();
    }
    not_full_.notify_all();
    return !out.empty();
  }

  void close() {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    not_empty_.notify_all();
  }

 private:
  const size_t capacity_;
  std::mutex mutex_;
  std::condition_variable not_empty_, not_full_;
  std::deque<Request> items_;
  bool closed_ = false;
};

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

// Answers are written whole, one line at a time, and flushed so a client reading the pipe
// sees each as soon as it is ready.
class AnswerWriter {
 public:
  void embedding(const std::string& id, const float* v, int64_t dim) {
    std::string line = "{\"id\":";
    append_json_string(line, id);
    line += ",\"embedding\":[";
    char buf[32];
    for (int64_t j = 0; j < dim; ++j) {
      std::snprintf(buf, sizeof(buf), j ? ",%.9g" : "%.9g", static_cast<double>(v[j]));
      line += buf;
    }
    line += "]}\n";
    write(line);
  }
  void error(const std::string& id, std::string_view message) {
    std::string line = "{\"id\":";
    append_json_string(line, id);
    line += ",\"error\":";
    append_json_string(line, message);
    line += "}\n";
    write(line);
  }

 private:
  void write(const std::string& line) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
  }
  std::mutex mutex_;
};

void serve(const fastsbert::Encoder& encoder, RequestQueue& queue, AnswerWriter& answers,
           size_t batch) {
  const int64_t dim = encoder.dim();
  std::vector<Request> requests;
  std::vector<float> out;
  while (queue.pop_batch(batch, requests)) {
    std::vector<std::string_view> texts;
    for (const Request& r : requests) texts.emplace_back(r.text);
    out.resize(texts.size() * static_cast<size_t>(dim));
    try {
      encoder.encode(texts, out.data());
    } catch (const fastsbert::InvalidArgument&) {
      // One bad text (say, invalid UTF-8) fails the whole call: retry one by one so the
      // other requests of the batch are still answered.
      for (size_t i = 0; i < requests.size(); ++i) {
        try {
          encoder.encode({texts[i]}, out.data() + i * dim);
          answers.embedding(requests[i].id, out.data() + i * dim, dim);
        } catch (const std::exception& e) {
          answers.error(requests[i].id, e.what());
        }
      }
      continue;
    } catch (const std::exception& e) {
      for (const Request& r : requests) answers.error(r.id, e.what());
      continue;
    }
    for (size_t i = 0; i < requests.size(); ++i) {
      answers.embedding(requests[i].id, out.data() + i * dim, dim);
    }
  }
}

int usage(const char* why) {
  std::fprintf(stderr,
               "embed_service: %s\n"
               "usage: embed_service MODEL_DIR [--workers N] [--threads N] [--batch N] "
               "[--queue N]\n",
               why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage("missing MODEL_DIR");
  const std::string model_dir = argv[1];
  long workers = 4, threads = 0, batch = 32, queue_size = 1024;
  for (int i = 2; i < argc; ++i) {
    const std::string flag = argv[i];
    long* target = flag == "--workers"   ? &workers
                   : flag == "--threads" ? &threads
                   : flag == "--batch"   ? &batch
                   : flag == "--queue"   ? &queue_size
                                         : nullptr;
    if (!target) return usage(("unknown option " + flag).c_str());
    if (i + 1 >= argc) return usage((flag + " needs a value").c_str());
    char* end = nullptr;
    *target = std::strtol(argv[++i], &end, 10);
    const bool zero_ok = target == &threads;
    if (*end != '\0' || *target < (zero_ok ? 0 : 1)) {
      return usage((flag + " must be an integer >= " + (zero_ok ? "0" : "1") + ", got '" +
                    argv[i] + "'").c_str());
    }
  }

  fastsbert::EncoderOptions options;
  options.threads = static_cast<int>(threads);
  std::unique_ptr<fastsbert::Encoder> encoder;
  try {
    encoder = std::make_unique<fastsbert::Encoder>(model_dir, options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "embed_service: %s\n", e.what());
    return 1;
  }
  if (!encoder->has_tokenizer()) {
    std::fprintf(stderr, "embed_service: %s has no native tokenizer: %s\n", model_dir.c_str(),
                 encoder->tokenizer_unavailable_reason().c_str());
    return 1;
  }
  std::fprintf(stderr,
               "embed_service: fastsbert %s, ONNX Runtime %s, model %s (dim %lld), %ld workers\n",
               fastsbert::version(), fastsbert::onnxruntime_version().c_str(), model_dir.c_str(),
               static_cast<long long>(encoder->dim()), workers);

  RequestQueue queue(static_cast<size_t>(queue_size));
  AnswerWriter answers;
  std::vector<std::thread> pool;
  for (long w = 0; w < workers; ++w) {
    pool.emplace_back(serve, std::cref(*encoder), std::ref(queue), std::ref(answers),
                      static_cast<size_t>(batch));
  }
  std::string line;
  size_t line_no = 0;
  while (std::getline(std::cin, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const size_t tab = line.find('\t');
    if (tab == std::string::npos) {
      answers.error("", "line " + std::to_string(line_no) + ": expected ID<TAB>TEXT");
      continue;
    }
    queue.push({line.substr(0, tab), line.substr(tab + 1)});
  }
  queue.close();
  for (std::thread& t : pool) t.join();
  return 0;
}
