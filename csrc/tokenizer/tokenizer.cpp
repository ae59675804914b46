// fastsbert::Tokenizer: loads tokenizer.json and runs the pipeline of pipeline.h over
// single texts and batches (threads over texts, CSR output).
#include "fastsbert/tokenizer.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <unordered_map>

#include "common/json.h"
#include "common/parallel.h"
#include "tokenizer/pipeline.h"
#include "tokenizer/unicode.h"
#include "tokenizer/utf8.h"

namespace fastsbert {

using tok::Workspace;

namespace {

// ------------------------------------------------------------------ post-processors
void read_special(const json::Value& v, std::vector<int32_t>& ids, std::string_view what) {
  const auto& pair = v.as_array(what);
  if (pair.size() != 2) throw std::runtime_error(std::string(what) + ": expected [token, id]");
  ids.push_back(static_cast<int32_t>(pair[1].as_int(what)));
}

tok::PostProcessor parse_post_processor(const json::Value& v) {
  const std::string& type = v.at("type").as_string("post_processor.type");
  tok::PostProcessor p;
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    read_special(v.at("cls"), p.prefix, "post_processor.cls");
    read_special(v.at("sep"), p.suffix, "post_processor.sep");
  } else if (type == "TemplateProcessing") {
    const auto& specials = v.at("special_tokens");
    bool seen_a = false;
    for (const auto& piece : v.at("single").as_array("TemplateProcessing.single")) {
      if (const auto* seq = piece.find("Sequence")) {
        if (seen_a || seq->at("id").as_string("Sequence.id") != "A") {
          throw tok::Unsupported("TemplateProcessing single template other than one sequence A");
        }
        seen_a = true;
      } else if (const auto* sp = piece.find("SpecialToken")) {
        const std::string& name = sp->at("id").as_string("SpecialToken.id");
        const json::Value* tok = specials.find(name);
        if (!tok) throw std::runtime_error("TemplateProcessing: missing special token " + name);
        auto& dst = seen_a ? p.suffix : p.prefix;
        for (const auto& id : tok->at("ids").as_array("special_tokens.ids")) {
          dst.push_back(static_cast<int32_t>(id.as_int("special token id")));
        }
      } else {
        throw tok::Unsupported("TemplateProcessing piece");
      }
    }
    if (!seen_a) throw tok::Unsupported("TemplateProcessing single template without sequence A");
  } else if (type == "ByteLevel") {
    // Only adjusts offsets.
  } else if (type == "Sequence") {
    for (const auto& sub : v.at("processors").as_array("Sequence.processors")) {
      tok::PostProcessor q = parse_post_processor(sub);
      p.prefix.insert(p.prefix.begin(), q.prefix.begin(), q.prefix.end());
      p.suffix.insert(p.suffix.end(), q.suffix.begin(), q.suffix.end());
    }
  } else {
    throw tok::Unsupported("post-processor " + type);
  }
  return p;
}

// ------------------------------------------------------------------ added tokens
struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool single_word = false, lstrip = false, rstrip = false, normalized = false, special = false;
};

// Leftmost-longest matcher over a byte trie.
class AddedMatcher {
 public:
  void add(std::string_view pattern, size_t token_index) {
    if (pattern.empty()) return;
    uint32_t node = 0;
    if (nodes_.empty()) nodes_.push_back(-1);
    for (unsigned char c : pattern) {
      const uint64_t k = (uint64_t(node) << 8) | c;
      auto it = children_.find(k);
      if (it == children_.end()) {
        const uint32_t fresh = uint32_t(nodes_.size());
        nodes_.push_back(-1);
        children_.emplace(k, fresh);
        node = fresh;
      } else {
        node = it->second;
      }
    }
    nodes_[node] = int32_t(token_index);
    first_[static_cast<unsigned char>(pattern[0])] = true;
  }
  bool empty() const { return nodes_.empty(); }
  // Longest pattern starting at s[i]: sets len and returns the token index, or -1.
  int32_t longest_at(std::string_view s, size_t i, size_t& len) const {
    if (!first_[static_cast<unsigned char>(s[i])]) return -1;
    uint32_t node = 0;
    int32_t found = -1;
    for (size_t k = i; k < s.size(); ++k) {
      auto it = children_.find((uint64_t(node) << 8) | static_cast<unsigned char>(s[k]));
      if (it == children_.end()) break;
      node = it->second;
      if (nodes_[node] >= 0) {
        found = nodes_[node];
        len = k + 1 - i;
      }
    }
    return found;
  }

 private:
  std::vector<int32_t> nodes_;
  std::unordered_map<uint64_t, uint32_t> children_;
  bool first_[256] = {};
};

struct Segment {
  size_t begin, end;
  int32_t id;  // -1: text to tokenize
};

bool is_word_char(char32_t c) { return tok::unicode::has(c, tok::unicode::kWord); }
bool is_space_char(char32_t c) { return tok::unicode::has(c, tok::unicode::kWhiteSpace); }

char32_t last_char(std::string_view s, size_t end, size_t& start) {
  size_t k = end - 1;
  while (k > 0 && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
  start = k;
  size_t j = k;
  return tok::next_cp(s, j);
}

}  // namespace

struct Tokenizer::Impl {
  std::unique_ptr<tok::Normalizer> normalizer;
  std::unique_ptr<tok::PreTokenizer> pre_tokenizer;
  std::unique_ptr<tok::Model> model;
  tok::PostProcessor post;
  std::vector<AddedToken> added;
  std::unordered_map<std::string, int32_t> added_ids;
  AddedMatcher raw_matcher, normalized_matcher;
  size_t trunc_max = 0;
  bool trunc_left = false;
  int64_t pad_id = -1;

  // Splits s around the added tokens `m` finds (AddedVocabulary::find_matches).
  void split_added(std::string_view s, const AddedMatcher& m, std::vector<Segment>& out) const {
    out.clear();
    if (m.empty()) {
      out.push_back({0, s.size(), -1});
      return;
    }
    size_t start_offset = 0;
    size_t i = 0;
    while (i < s.size()) {
      size_t len = 0;
      const int32_t ti = m.longest_at(s, i, len);
      if (ti < 0) {
        ++i;
        continue;
      }
      const AddedToken& t = added[ti];
      size_t start = i, stop = i + len;
      i = stop;
      if (t.single_word) {
        size_t dummy;
        const bool start_space = start == 0 || !is_word_char(last_char(s, start, dummy));
        size_t j = stop;
        const bool stop_space = stop == s.size() || !is_word_char(tok::next_cp(s, j));
        if (!start_space || !stop_space) continue;
      }
      if (t.lstrip) {
        size_t ns = start;
        while (ns > 0) {
          size_t cs;
          if (!is_space_char(last_char(s, ns, cs))) break;
          ns = cs;
        }
        start = std::max(ns, start_offset);
      }
      if (t.rstrip) {
        while (stop < s.size()) {
          size_t j = stop;
          if (!is_space_char(tok::next_cp(s, j))) break;
          stop = j;
        }
      }
      if (start_offset < start) out.push_back({start_offset, start, -1});
      out.push_back({start, stop, t.id});
      start_offset = stop;
    }
    if (start_offset != s.size()) out.push_back({start_offset, s.size(), -1});
  }

  // Appends the model ids of one text (no special tokens); stops early once `limit`
  // ids are there when cutting from the right.
  void tokenize_text(std::string_view text, std::vector<int32_t>& ids, Workspace& ws, size_t limit) const {
    std::vector<Segment> raw, norm;
    split_added(text, raw_matcher, raw);
    tok::NormText nt;
    for (const Segment& seg : raw) {
      if (!trunc_left && ids.size() >= limit) return;
      if (seg.end == seg.begin) continue;
      if (seg.id >= 0) {
        ids.push_back(seg.id);
        continue;
      }
      nt.s.assign(text.data() + seg.begin, seg.end - seg.begin);
      nt.origin = seg.begin == 0;
      if (normalizer) normalizer->normalize(nt, ws);
      split_added(nt.s, normalized_matcher, norm);
      for (const Segment& sub : norm) {
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
  if (const auto* p = root.find("post_processor"); p && !p->is_null()) impl->post = parse_post_processor(*p);
  if (const auto* t = root.find("truncation"); t && !t->is_null()) {
    impl->trunc_max = static_cast<size_t>(t->at("max_length").as_int("truncation.max_length"));
    if (const auto* d = t->find("direction")) impl->trunc_left = d->as_string("truncation.direction") == "Left";
    if (const auto* s = t->find("strategy")) {
      const std::string& st = s->as_string("truncation.strategy");
      if (st == "OnlySecond") impl->trunc_max = 0;  // single sequences are never cut
    }
  }
  if (const auto* p = root.find("padding"); p && !p->is_null()) {
    if (const auto* id = p->find("pad_id")) impl->pad_id = id->as_int("padding.pad_id");
  }
  // Added tokens, with ids assigned the way AddedVocabulary::add_tokens does.
  if (const auto* list = root.find("added_tokens"); list && !list->is_null()) {
    int64_t next_id = static_cast<int64_t>(impl->model->vocab_size());
    std::unordered_map<int32_t, size_t> by_id;
    for (const auto& t : list->as_array("added_tokens")) {
      AddedToken a;
      a.content = t.at("content").as_string("added_tokens.content");
      if (a.content.empty()) continue;
      if (tok::find_invalid_utf8(a.content) != std::string::npos) throw std::runtime_error("added token is not UTF-8");
      auto flag = [&](const char* k, bool dflt) {
        const auto* x = t.find(k);
        return x && !x->is_null() ? x->as_bool(k) : dflt;
      };
      a.special = flag("special", false);
      a.single_word = flag("single_word", false);
      a.lstrip = flag("lstrip", false);
      a.rstrip = flag("rstrip", false);
      a.normalized = flag("normalized", !a.special);
      auto known = impl->added_ids.find(a.content);
      int64_t id;
      if (known != impl->added_ids.end()) {
        id = known->second;
      } else if (int64_t mid = impl->model->token_to_id(a.content); mid >= 0) {
        id = mid;
      } else {
        id = next_id++;
      }
      a.id = static_cast<int32_t>(id);
      impl->added_ids[a.content] = a.id;
      auto slot = by_id.find(a.id);
      if (slot != by_id.end()) {
        impl->added[slot->second] = a;
      } else {
        by_id.emplace(a.id, impl->added.size());
        impl->added.push_back(a);
      }
    }
    Workspace ws;
    for (size_t i = 0; i < impl->added.size(); ++i) {
      const AddedToken& a = impl->added[i];
      if (a.normalized) {
        tok::NormText nt{a.content, true};
        if (impl->normalizer) impl->normalizer->normalize(nt, ws);
        impl->normalized_matcher.add(nt.s, i);
      } else {
        impl->raw_matcher.add(a.content, i);
      }
    }
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
  auto it = impl_->added_ids.find(std::string(token));
  if (it != impl_->added_ids.end()) return it->second;
  return impl_->model->token_to_id(token);
}

std::vector<int64_t> Tokenizer::encode(std::string_view text, size_t max_length) const {
  Workspace ws;
  std::vector<int32_t> ids;
  std::vector<int64_t> out;
  impl_->encode_into(text, max_length, out, ids, ws);
  return out;
}

void Tokenizer::encode_batch_csr(const std::vector<std::string_view>& texts, std::vector<int64_t>& ids,
                                 std::vector<int64_t>& offsets, size_t max_length, int threads,
                                 const CancelToken* cancel) const {
  if (threads < 0) {
    throw InvalidArgument("threads must be >= 0 (0: all available CPUs), got " +
                          std::to_string(threads));
  }
  const size_t n = texts.size();
  ids.clear();
  offsets.assign(1, 0);
  offsets.reserve(n + 1);
  if (n == 0) return;
  // Blocks of texts are handed out in order; each block keeps its own output.
  constexpr size_t kTextsPerBlock = 256;
  const size_t nblocks = (n + kTextsPerBlock - 1) / kTextsPerBlock;
  struct Block {
    std::vector<int64_t> ids;
    std::vector<int64_t> lengths;
  };
  struct Scratch {
    Workspace ws;
    std::vector<int32_t> ids;
  };
  std::vector<Block> blocks(nblocks);
  std::vector<Scratch> scratch(parallel_workers(nblocks, threads));
  parallel_for(nblocks, threads, cancel, [&](size_t b, size_t worker) {
    Block& blk = blocks[b];
    Scratch& sc = scratch[worker];
    const size_t lo = b * kTextsPerBlock, hi = std::min(n, lo + kTextsPerBlock);
    blk.lengths.reserve(hi - lo);
    for (size_t i = lo; i < hi; ++i) {
      const size_t before = blk.ids.size();
      try {
        impl_->encode_into(texts[i], max_length, blk.ids, sc.ids, sc.ws);
      } catch (const InvalidArgument& e) {
        throw InvalidArgument("text " + std::to_string(i) + ": " + e.what());
      } catch (const std::exception& e) {
        throw Error("text " + std::to_string(i) + ": " + e.what());
      }
      blk.lengths.push_back(static_cast<int64_t>(blk.ids.size() - before));
    }
  });
  size_t total = 0;
  for (const auto& blk : blocks) total += blk.ids.size();
  ids.reserve(total);
  for (const auto& blk : blocks) {
    ids.insert(ids.end(), blk.ids.begin(), blk.ids.end());
    for (int64_t len : blk.lengths) offsets.push_back(offsets.back() + len);
  }
}

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
