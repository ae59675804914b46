#include "static/static_model.h"

#include <algorithm>
#include <atomic>
#include <cmath>

#include "common/parallel.h"
#include "static/embedding_bag.h"
#include "tokenizer/utf8.h"

namespace fastsbert::static_embed {

namespace {

// The first `max_chars` code points of valid UTF-8 `text` (all of it when 0), as Python's
// text[:max_chars] slices.
std::string_view first_code_points(std::string_view text, size_t max_chars) {
  if (max_chars == 0 || text.size() <= max_chars) return text;
  size_t seen = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && seen++ == max_chars) {
      return text.substr(0, i);
    }
  }
  return text;
}

}  // namespace

struct StaticModel::Scratch {
  std::vector<std::string_view> texts;
  std::vector<int64_t> ids;
  std::vector<int64_t> offsets;
};

StaticModel::StaticModel(const engine::ModelDir& model)
    : model_(model),
      tokenizer_(Tokenizer::from_file(model.path + "/tokenizer.json")),
      table_(model.embeddings_path),
      dim_(static_cast<size_t>(model.config.dim)) {
  const std::string config = model.path + "/fastsbert.json";
  if (table_.rows() != static_cast<size_t>(model.vocab_size) || table_.cols() != dim_) {
    throw CorruptFile(model.embeddings_path + " holds a (" + std::to_string(table_.rows()) +
                      ", " + std::to_string(table_.cols()) + ") matrix but " + config +
                      " says vocab_size " + std::to_string(model.vocab_size) + ", dim " +
                      std::to_string(dim_));
  }
}

void StaticModel::tokenize_block(const std::vector<std::string_view>& texts, size_t lo,
                                 size_t hi, size_t max_length, Scratch& sc) const {
  sc.texts.clear();
  for (size_t i = lo; i < hi; ++i) {
    // Checked here so that the error names the text's index in the whole call.
    const size_t bad = tok::find_invalid_utf8(texts[i]);
    if (bad != std::string_view::npos) {
      throw InvalidArgument("text " + std::to_string(i) + ": invalid UTF-8 at byte " +
                            std::to_string(bad));
    }
    sc.texts.push_back(first_code_points(texts[i], static_cast<size_t>(model_.max_chars)));
  }
  if (max_length == 0) max_length = static_cast<size_t>(model_.config.max_seq_length);
  // One thread: the block is already one work item of the caller's pool.
  tokenizer_.encode_batch_csr(sc.texts, sc.ids, sc.offsets, max_length, 1, nullptr);
  if (model_.drop_token_id < 0) return;
  // Remove the dropped id (model2vec drops the unknown token after truncating).
  size_t w = 0;
  for (size_t t = 0; t + 1 < sc.offsets.size(); ++t) {
    const size_t b = static_cast<size_t>(sc.offsets[t]), e = static_cast<size_t>(sc.offsets[t + 1]);
    sc.offsets[t] = static_cast<int64_t>(w);
    for (size_t k = b; k < e; ++k) {
      if (sc.ids[k] != model_.drop_token_id) sc.ids[w++] = sc.ids[k];
    }
  }
  sc.offsets.back() = static_cast<int64_t>(w);
  sc.ids.resize(w);
}

void StaticModel::embed_row(BagMeanFn bag_mean, const int64_t* ids, size_t n, size_t row, float* out) const {
  const size_t rows = table_.rows();
  for (size_t k = 0; k < n; ++k) {
    if (ids[k] < 0 || static_cast<size_t>(ids[k]) >= rows) {
      throw InvalidArgument("sequence " + std::to_string(row) + " has token id " +
                            std::to_string(ids[k]) + ", outside the " + std::to_string(rows) +
                            " rows of " + model_.embeddings_path);
    }
  }
  float* dst = out + row * dim_;
  bag_mean(table_.data(), dim_, ids, n, dst);
  if (!model_.config.normalize) return;
  double sq = 0.0;
  for (size_t d = 0; d < dim_; ++d) sq += static_cast<double>(dst[d]) * dst[d];
  // sentence-transformers' Normalize divides by max(norm, 1e-12); a zero vector stays zero.
  const float inv = static_cast<float>(1.0 / std::max(std::sqrt(sq), 1e-12));
  for (size_t d = 0; d < dim_; ++d) dst[d] *= inv;
}

void StaticModel::tokenize(const std::vector<std::string_view>& texts, std::vector<int64_t>& ids,
                           std::vector<int64_t>& offsets, size_t max_length, int threads,
                           const CancelToken* cancel) const {
  const size_t n = texts.size();
  const size_t blocks = (n + kTextsPerBlock - 1) / kTextsPerBlock;
  std::vector<Scratch> done(blocks);
  parallel_for(blocks, threads, cancel, [&](size_t b, size_t) {
    tokenize_block(texts, b * kTextsPerBlock, std::min(n, (b + 1) * kTextsPerBlock), max_length,
                   done[b]);
  });
  ids.clear();
  offsets.assign(1, 0);
  for (const Scratch& sc : done) {
    for (size_t t = 1; t < sc.offsets.size(); ++t) offsets.push_back(ids.size() + sc.offsets[t]);
    ids.insert(ids.end(), sc.ids.begin(), sc.ids.end());
  }
}

void StaticModel::embed_ids(const TokenSequences& seqs, float* out, int threads,
                            const CancelToken* cancel,
                            const std::function<void(size_t)>& progress) const {
  const size_t blocks = (seqs.count + kTextsPerBlock - 1) / kTextsPerBlock;
  const BagMeanFn bag_mean = bag_mean_for(embedding_bag_level());
  std::atomic<size_t> finished{0};
  parallel_for(blocks, threads, cancel, [&](size_t b, size_t worker) {
    const size_t lo = b * kTextsPerBlock, hi = std::min(seqs.count, lo + kTextsPerBlock);
    for (size_t i = lo; i < hi; ++i) {
      const int64_t begin = seqs.offsets[i];
      embed_row(bag_mean, seqs.ids + begin, static_cast<size_t>(seqs.offsets[i + 1] - begin), i, out);
    }
    const size_t now = finished.fetch_add(hi - lo) + (hi - lo);
    if (worker == 0 && progress) progress(now);  // worker 0 is the calling thread
  });
  if (progress) progress(seqs.count);
}

void StaticModel::encode(const std::vector<std::string_view>& texts, float* out, int threads,
                         const CancelToken* cancel,
                         const std::function<void(size_t)>& progress) const {
  const size_t n = texts.size();
  const size_t blocks = (n + kTextsPerBlock - 1) / kTextsPerBlock;
  std::vector<Scratch> scratch(parallel_workers(blocks, threads));
  const BagMeanFn bag_mean = bag_mean_for(embedding_bag_level());
  std::atomic<size_t> finished{0};
  parallel_for(blocks, threads, cancel, [&](size_t b, size_t worker) {
    const size_t lo = b * kTextsPerBlock, hi = std::min(n, lo + kTextsPerBlock);
    Scratch& sc = scratch[worker];
    tokenize_block(texts, lo, hi, 0, sc);
    for (size_t t = 0; t < hi - lo; ++t) {
      const int64_t begin = sc.offsets[t];
      embed_row(bag_mean, sc.ids.data() + begin, static_cast<size_t>(sc.offsets[t + 1] - begin), lo + t,
                out);
    }
    const size_t now = finished.fetch_add(hi - lo) + (hi - lo);
    if (worker == 0 && progress) progress(now);
  });
  if (progress) progress(n);
}

}  // namespace fastsbert::static_embed
