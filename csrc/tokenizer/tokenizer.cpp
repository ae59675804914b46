// fastsbert::Tokenizer: loads tokenizer.json and runs the pipeline of pipeline.h over
// single texts and batches (threads over texts, CSR output). Added tokens live in
// added_tokens.cpp, post-processors in post_processors.cpp.
#include "fastsbert/tokenizer.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

#include "common/json.h"
#include "common/parallel.h"
#include "tokenizer/added_tokens.h"
#include "tokenizer/pipeline.h"
#include "tokenizer/utf8.h"

namespace fastsbert {

using tok::Workspace;

struct Tokenizer::Impl {
  std::unique_ptr<tok::Normalizer> normalizer;
  std::unique_ptr<tok::PreTokenizer> pre_tokenizer;
  std::unique_ptr<tok::Model> model;
  tok::PostProcessor post;
  tok::AddedVocabulary added;
  size_t trunc_max = 0;
  bool trunc_left = false;
  // The file's truncation of pairs: its max_length and strategy.
  size_t pair_trunc_max = 0;
  std::string pair_strategy = "LongestFirst";
  int64_t pad_id = -1;

  // Appends the model ids of one text (no special tokens); stops early once `limit`
  // ids are there when cutting from the right.
  void tokenize_text(std::string_view text, std::vector<int32_t>& ids, Workspace& ws, size_t limit) const {
    std::vector<tok::Segment> raw, norm;
    added.split_raw(text, raw);
    tok::NormText nt;
    for (const tok::Segment& seg : raw) {
      if (!trunc_left && ids.size() >= limit) return;
      if (seg.end == seg.begin) continue;
      if (seg.id >= 0) {
        ids.push_back(seg.id);
        continue;
      }
      nt.s.assign(text.data() + seg.begin, seg.end - seg.begin);
      nt.origin = seg.begin == 0;
      if (normalizer) normalizer->normalize(nt, ws);
      added.split_normalized(nt.s, norm);
      for (const tok::Segment& sub : norm) {
        if (sub.end == sub.begin) continue;
        if (sub.id >= 0) {
          ids.push_back(sub.id);
          continue;
        }
        ws.arena.assign(nt.s, sub.begin, sub.end - sub.begin);
        ws.pieces.clear();
        ws.pieces.push_back(tok::Piece{0, uint32_t(ws.arena.size()), nt.origin && sub.begin == 0});
        if (pre_tokenizer) pre_tokenizer->pre_tokenize(ws);
        for (const tok::Piece& p : ws.pieces) {
          model->tokenize(std::string_view(ws.arena).substr(p.off, p.len), ids, ws);
          if (!trunc_left && ids.size() >= limit) return;
        }
      }
    }
  }

  // Full encoding of one text into `out` (appended).
  void encode_into(std::string_view text, size_t max_length, std::vector<int64_t>& out,
                   std::vector<int32_t>& ids, Workspace& ws) const {
    const size_t bad = tok::find_invalid_utf8(text);
    if (bad != std::string_view::npos) {
      throw InvalidArgument("invalid UTF-8 at byte " + std::to_string(bad));
    }
    if (max_length == 0) max_length = trunc_max;
    // Room left for the sequence once the special tokens are in (HF subtracts them
    // from max_length before truncating; a max_length below that leaves it uncut).
    size_t limit = SIZE_MAX;
    if (max_length > 0 && max_length >= post.added()) limit = max_length - post.added();
    ids.clear();
    tokenize_text(text, ids, ws, limit);
    size_t b = 0, e = ids.size();
    if (ids.size() > limit) {
      if (trunc_left) {
        b = e - limit;
      } else {
        e = limit;
      }
    }
    out.insert(out.end(), post.prefix.begin(), post.prefix.end());
    out.insert(out.end(), ids.begin() + b, ids.begin() + e);
    out.insert(out.end(), post.suffix.begin(), post.suffix.end());
  }

  // Full encoding of a pair (text_a, text_b) into `out` and `types` (appended): both
  // tokenized, cut together to max_length (0: the file's truncation) by the file's
  // strategy, then joined by the post-processor's pair template.
  void encode_pair_into(std::string_view a, std::string_view b, size_t max_length,
                        std::vector<int64_t>& out, std::vector<int64_t>& types,
                        std::vector<int32_t>& ids_a, std::vector<int32_t>& ids_b,
                        Workspace& ws) const {
    if (!post.pair_error.empty()) throw Error("cannot encode text pairs: " + post.pair_error);
    const std::string_view texts[2] = {a, b};
    for (int k = 0; k < 2; ++k) {
      const size_t bad = tok::find_invalid_utf8(texts[k]);
      if (bad != std::string_view::npos) {
        throw InvalidArgument(std::string(k == 0 ? "first" : "second") +
                              " text: invalid UTF-8 at byte " + std::to_string(bad));
      }
    }
    if (max_length == 0) max_length = pair_trunc_max;
    // Room for the two sequences once the template's special tokens are in; as for single
    // texts, a max_length below their count leaves the pair uncut.
    size_t limit = SIZE_MAX;
    if (max_length > 0 && max_length >= post.pair_added()) limit = max_length - post.pair_added();
    ids_a.clear();
    ids_b.clear();
    // Neither sequence keeps more than `limit` ids, so tokenizing stops there (an early
    // stop leaves at least `limit`, which the rule below treats as any longer length)...
    tokenize_text(a, ids_a, ws, limit);
    tokenize_text(b, ids_b, ws, limit);
    if (limit != SIZE_MAX && limit % 2 == 1 && ids_a.size() >= limit && ids_b.size() >= limit) {
      // ...except when both are cut to halves of an odd limit: the longer one gets the
      // odd token, so the full lengths decide.
      ids_a.clear();
      ids_b.clear();
      tokenize_text(a, ids_a, ws, SIZE_MAX);
      tokenize_text(b, ids_b, ws, SIZE_MAX);
    }
    size_t n_a = ids_a.size(), n_b = ids_b.size();
    if (limit != SIZE_MAX && n_a + n_b > limit) {
      if (pair_strategy == "LongestFirst") {
        // Hugging Face's longest_first: the shorter sequence is kept whole when the longer
        // can give up what is needed; otherwise each gets half, the odd token to the
        // second of the shorter/longer pair.
        const bool swap = n_a > n_b;
        size_t n1 = swap ? n_b : n_a, n2;
        n2 = n1 > limit ? n1 : std::max(n1, limit - n1);
        if (n1 + n2 > limit) {
          n1 = limit / 2;
          n2 = n1 + limit % 2;
        }
        if (swap) std::swap(n1, n2);
        n_a = std::min(n_a, n1);
        n_b = std::min(n_b, n2);
      } else if (pair_strategy == "OnlyFirst" || pair_strategy == "OnlySecond") {
        const bool first = pair_strategy == "OnlyFirst";
        const size_t other = first ? n_b : n_a;
        if (other >= limit) {
          throw InvalidArgument("the pair cannot be truncated to " + std::to_string(max_length) +
                                " tokens by cutting only the " + (first ? "first" : "second") +
                                " sequence");
        }
        (first ? n_a : n_b) = limit - other;
      } else {
        throw Error("cannot truncate text pairs with strategy " + pair_strategy);
      }
    }
    auto cut = [&](const std::vector<int32_t>& ids, size_t n) {
      const size_t from = trunc_left ? ids.size() - n : 0;
      return std::make_pair(ids.begin() + from, ids.begin() + from + n);
    };
    auto put = [&](auto first, auto last, int64_t type) {
      out.insert(out.end(), first, last);
      types.insert(types.end(), static_cast<size_t>(last - first), type);
    };
    auto put_specials = [&](const tok::Specials& sp) {
      out.insert(out.end(), sp.ids.begin(), sp.ids.end());
      types.insert(types.end(), sp.types.begin(), sp.types.end());
    };
    const auto [a_begin, a_end] = cut(ids_a, n_a);
    const auto [b_begin, b_end] = cut(ids_b, n_b);
    put_specials(post.pair_prefix);
    put(a_begin, a_end, post.type_a);
    put_specials(post.pair_middle);
    put(b_begin, b_end, post.type_b);
    put_specials(post.pair_suffix);
  }
};

namespace {

std::shared_ptr<Tokenizer::Impl> build(const json::Value& root) {
  auto impl = std::make_shared<Tokenizer::Impl>();
  if (const auto* v = root.find("version"); v && v->is_string() && v->as_string() != "1.0") {
    throw tok::Unsupported("tokenizer.json version " + v->as_string());
  }
  if (const auto* n = root.find("normalizer"); n && !n->is_null()) impl->normalizer = tok::make_normalizer(*n);
  if (const auto* p = root.find("pre_tokenizer"); p && !p->is_null()) impl->pre_tokenizer = tok::make_pre_tokenizer(*p);
  impl->model = tok::make_model(root.at("model"));
  if (const auto* p = root.find("post_processor"); p && !p->is_null()) impl->post = tok::make_post_processor(*p);
  if (const auto* t = root.find("truncation"); t && !t->is_null()) {
    impl->trunc_max = static_cast<size_t>(t->at("max_length").as_int("truncation.max_length"));
    impl->pair_trunc_max = impl->trunc_max;
    if (const auto* d = t->find("direction")) impl->trunc_left = d->as_string("truncation.direction") == "Left";
    if (const auto* s = t->find("strategy")) {
      const std::string& st = s->as_string("truncation.strategy");
      impl->pair_strategy = st;
      if (st == "OnlySecond") impl->trunc_max = 0;  // single sequences are never cut
    }
  }
  if (const auto* p = root.find("padding"); p && !p->is_null()) {
    if (const auto* id = p->find("pad_id")) impl->pad_id = id->as_int("padding.pad_id");
  }
  if (const auto* list = root.find("added_tokens"); list && !list->is_null()) {
    impl->added.load(*list, *impl->model, impl->normalizer.get());
  }
  return impl;
}

// `source` names the file (its path, or "tokenizer.json" for text given in memory).
std::shared_ptr<Tokenizer::Impl> build_checked(const std::function<json::Value()>& parse,
                                               const std::string& source) {
  try {
    return build(parse());
  } catch (const tok::Unsupported& e) {
    throw UnsupportedTokenizer(source + ": unsupported " + e.what());
  } catch (const json::ParseError& e) {
    throw CorruptFile("corrupt " + source + ": " + e.what());
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw CorruptFile("corrupt " + source + ": " + e.what());
  }
}

}  // namespace

Tokenizer::Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::from_file(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) throw MissingFile("tokenizer file not found: " + path);
    throw Error("cannot read " + path + ": " + std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) throw InvalidArgument(path + " is a directory, not a tokenizer.json");
  std::string text;
  {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("cannot read " + path + ": " + std::strerror(errno));
    std::ostringstream buf;
    buf << in.rdbuf();
    text = buf.str();
  }
  return Tokenizer(build_checked([&] { return json::parse(text); }, path));
}

Tokenizer Tokenizer::from_json(std::string_view text) {
  return Tokenizer(build_checked([&] { return json::parse(text); }, "tokenizer.json"));
}

size_t Tokenizer::truncation_max_length() const { return impl_->trunc_max; }
size_t Tokenizer::num_special_tokens() const { return impl_->post.added(); }
int64_t Tokenizer::pad_token_id() const { return impl_->pad_id; }

int64_t Tokenizer::token_to_id(std::string_view token) const {
  if (int64_t id = impl_->added.token_to_id(token); id >= 0) return id;
  return impl_->model->token_to_id(token);
}

std::vector<int64_t> Tokenizer::encode(std::string_view text, size_t max_length) const {
  Workspace ws;
  std::vector<int32_t> ids;
  std::vector<int64_t> out;
  impl_->encode_into(text, max_length, out, ids, ws);
  return out;
}

namespace {

void check_threads(int threads) {
  if (threads < 0) {
    throw InvalidArgument("threads must be >= 0 (0: all available CPUs), got " +
                          std::to_string(threads));
  }
}

// Encodes items 0..n-1 into CSR rows: `ids` (and `type_ids` when given) concatenated,
// `offsets` n + 1 row boundaries. Blocks of `per_block` items are handed out in order to the
// workers; each block keeps its own output, so the rows come out in input order whatever
// the thread count. `encode(i, ids, types, scratch)` appends item i's tokens (and their type
// ids when `type_ids` is given); an error is rethrown naming the item ("text 3: ...").
template <class Scratch, class Encode>
void encode_rows_csr(size_t n, size_t per_block, const char* item, int threads,
                     const CancelToken* cancel, std::vector<int64_t>& ids,
                     std::vector<int64_t>* type_ids, std::vector<int64_t>& offsets,
                     Encode encode) {
  ids.clear();
  if (type_ids) type_ids->clear();
  offsets.assign(1, 0);
  offsets.reserve(n + 1);
  if (n == 0) return;
  struct Block {
    std::vector<int64_t> ids, types, lengths;
  };
  const size_t nblocks = (n + per_block - 1) / per_block;
  std::vector<Block> blocks(nblocks);
  std::vector<Scratch> scratch(parallel_workers(nblocks, threads));
  parallel_for(nblocks, threads, cancel, [&](size_t b, size_t worker) {
    Block& blk = blocks[b];
    const size_t lo = b * per_block, hi = std::min(n, lo + per_block);
    blk.lengths.reserve(hi - lo);
    for (size_t i = lo; i < hi; ++i) {
      const size_t before = blk.ids.size();
      try {
        encode(i, blk.ids, blk.types, scratch[worker]);
      } catch (const InvalidArgument& e) {
        throw InvalidArgument(std::string(item) + " " + std::to_string(i) + ": " + e.what());
      } catch (const std::exception& e) {
        throw Error(std::string(item) + " " + std::to_string(i) + ": " + e.what());
      }
      blk.lengths.push_back(static_cast<int64_t>(blk.ids.size() - before));
    }
  });
  size_t total = 0;
  for (const auto& blk : blocks) total += blk.ids.size();
  ids.reserve(total);
  if (type_ids) type_ids->reserve(total);
  for (const auto& blk : blocks) {
    ids.insert(ids.end(), blk.ids.begin(), blk.ids.end());
    if (type_ids) type_ids->insert(type_ids->end(), blk.types.begin(), blk.types.end());
    for (int64_t len : blk.lengths) offsets.push_back(offsets.back() + len);
  }
}

}  // namespace

void Tokenizer::encode_batch_csr(const std::vector<std::string_view>& texts, std::vector<int64_t>& ids,
                                 std::vector<int64_t>& offsets, size_t max_length, int threads,
                                 const CancelToken* cancel) const {
  check_threads(threads);
  struct Scratch {
    Workspace ws;
    std::vector<int32_t> ids;
  };
  encode_rows_csr<Scratch>(
      texts.size(), /*per_block=*/256, "text", threads, cancel, ids, nullptr, offsets,
      [&](size_t i, std::vector<int64_t>& out, std::vector<int64_t>&, Scratch& sc) {
        impl_->encode_into(texts[i], max_length, out, sc.ids, sc.ws);
      });
}

void Tokenizer::encode_pair_batch_csr(const std::vector<std::string_view>& first,
                                      const std::vector<std::string_view>& second,
                                      std::vector<int64_t>& ids, std::vector<int64_t>& type_ids,
                                      std::vector<int64_t>& offsets, size_t max_length,
                                      int threads, const CancelToken* cancel) const {
  check_threads(threads);
  if (first.size() != second.size()) {
    throw InvalidArgument("pairs: " + std::to_string(first.size()) + " first texts but " +
                          std::to_string(second.size()) + " second texts");
  }
  if (!impl_->post.pair_error.empty()) {
    throw Error("cannot encode text pairs: " + impl_->post.pair_error);
  }
  struct Scratch {
    Workspace ws;
    std::vector<int32_t> a, b;
  };
  // Smaller blocks than single texts: a pair is about twice the work.
  encode_rows_csr<Scratch>(
      first.size(), /*per_block=*/128, "pair", threads, cancel, ids, &type_ids, offsets,
      [&](size_t i, std::vector<int64_t>& out, std::vector<int64_t>& types, Scratch& sc) {
        impl_->encode_pair_into(first[i], second[i], max_length, out, types, sc.a, sc.b, sc.ws);
      });
}

size_t Tokenizer::num_special_tokens_pair() const { return impl_->post.pair_added(); }
const std::string& Tokenizer::pair_unavailable_reason() const { return impl_->post.pair_error; }

namespace tok {

size_t find_invalid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    // Skip ASCII eight bytes at a time.
    while (i + 8 <= n) {
      uint64_t w;
      __builtin_memcpy(&w, p + i, 8);
      if (w & 0x8080808080808080ULL) break;
      i += 8;
    }
    if (i >= n) break;
    const unsigned char b = p[i];
    if (b < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    char32_t min;
    char32_t c;
    if (b >= 0xC2 && b <= 0xDF) {
      len = 2, min = 0x80, c = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
      len = 3, min = 0x800, c = b & 0x0F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      len = 4, min = 0x10000, c = b & 0x07;
    } else {
      return i;
    }
    if (i + len > n) return i;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return i;
      c = (c << 6) | (p[i + k] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return i;
    i += len;
  }
  return std::string_view::npos;
}

}  // namespace tok
}  // namespace fastsbert
