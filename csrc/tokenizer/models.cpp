// Models: WordPiece (greedy longest match), BPE (ranked merges, byte_fallback, unk
// fusing), Unigram (Viterbi over a byte trie) and WordLevel.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <queue>
#include <string>

#include "tokenizer/pipeline.h"
#include "tokenizer/utf8.h"

namespace fastsbert::tok {
namespace {

int32_t checked_id(const json::Value& v, std::string_view what) {
  const int64_t id = v.as_int(what);
  if (id < 0 || id > std::numeric_limits<int32_t>::max()) {
    throw std::runtime_error(std::string(what) + ": token id out of range");
  }
  return static_cast<int32_t>(id);
}

// Parses a JSON number the way serde_json does by default (the reader HF tokenizers
// uses): decimal digits are accumulated into a u64 (digits past its range are dropped),
// then scaled by one power of ten. That is not always the correctly rounded double
// strtod gives, and Unigram's Viterbi must see the very same scores to break ties alike.
double serde_json_f64(std::string_view t) {
  static const std::vector<double> pow10 = [] {
    std::vector<double> p(309);
    for (int i = 0; i <= 308; ++i) p[i] = std::strtod(("1e" + std::to_string(i)).c_str(), nullptr);
    return p;
  }();
  size_t i = 0;
  bool positive = true;
  if (i < t.size() && t[i] == '-') {
    positive = false;
    ++i;
  }
  uint64_t sig = 0;
  int32_t exp = 0;
  bool overflowed = false;
  auto digit = [&](char c) {
    const uint64_t d = uint64_t(c - '0');
    if (overflowed || sig > UINT64_MAX / 10 || (sig == UINT64_MAX / 10 && d > UINT64_MAX % 10)) {
      overflowed = true;
      return false;
    }
    sig = sig * 10 + d;
    return true;
  };
  for (; i < t.size() && t[i] >= '0' && t[i] <= '9'; ++i) {
    if (!digit(t[i])) ++exp;  // integer digits past u64 range still scale the value
  }
  if (i < t.size() && t[i] == '.') {
    overflowed = false;  // serde_json checks the fraction's digits afresh
    for (++i; i < t.size() && t[i] >= '0' && t[i] <= '9'; ++i) {
      if (digit(t[i])) --exp;
    }
  }
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    bool neg = false;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) neg = t[i++] == '-';
    int64_t e = 0;
    for (; i < t.size() && t[i] >= '0' && t[i] <= '9'; ++i) e = std::min<int64_t>(e * 10 + (t[i] - '0'), 1 << 30);
    exp = static_cast<int32_t>(std::clamp<int64_t>(neg ? int64_t(exp) - e : int64_t(exp) + e, INT32_MIN, INT32_MAX));
  }
  double f = static_cast<double>(sig);
  for (;;) {
    const int64_t a = exp < 0 ? -int64_t(exp) : exp;
    if (a <= 308) {
      if (exp >= 0) {
        f *= pow10[a];
      } else {
        f /= pow10[a];
      }
      break;
    }
    if (f == 0.0) break;
    if (exp >= 0) throw std::runtime_error("number out of range");
    f /= 1e308;
    exp += 308;
  }
  return positive ? f : -f;
}

// vocab: {"token": id, ...}
void read_vocab_object(const json::Value& v, VocabMap& map, size_t& max_len) {
  std::vector<std::pair<std::string, int32_t>> entries;
  const auto& obj = v.as_object("model.vocab");
  entries.reserve(obj.size());
  max_len = 0;
  for (const auto& [k, id] : obj) {
    entries.emplace_back(k, checked_id(id, "model.vocab"));
    max_len = std::max(max_len, k.size());
  }
  map.build(entries);
}

// A model whose unknown token is not in its vocabulary fails on the first unknown word
// (in `tokenizers` too); refuse it when it is loaded rather than mid-way through a corpus.
std::runtime_error missing_unk(const char* model, const std::string& token) {
  return std::runtime_error(std::string(model) + " model: its unknown token '" + token +
                            "' (model.unk_token) is not in the vocabulary (model.vocab)");
}

std::string optional_string(const json::Value& v, std::string_view key) {
  const auto* x = v.find(key);
  if (!x || x->is_null()) return {};
  return x->as_string(key);
}

class WordPiece final : public Model {
 public:
  explicit WordPiece(const json::Value& v) {
    read_vocab_object(v.at("vocab"), vocab_, max_token_len_);
    unk_token_ = v.at("unk_token").as_string("WordPiece.unk_token");
    prefix_ = optional_string(v, "continuing_subword_prefix");
    if (const auto* x = v.find("max_input_chars_per_word"); x && !x->is_null()) {
      max_chars_ = static_cast<size_t>(x->as_int("max_input_chars_per_word"));
    }
    unk_id_ = vocab_.find(unk_token_);
    if (unk_id_ < 0) throw missing_unk("WordPiece", unk_token_);
  }

  void tokenize(std::string_view word, std::vector<int32_t>& out, Workspace& ws) const override {
    if (count_chars(word) > max_chars_) {
      out.push_back(unk());
      return;
    }
    const size_t mark = out.size();
    std::string& buf = ws.tmp;
    size_t start = 0;
    while (start < word.size()) {
      // buf = (prefix if not first) + word[start:]; candidate keys are prefixes of buf.
      buf.clear();
      const size_t pre = start > 0 ? prefix_.size() : 0;
      if (pre) buf += prefix_;
      buf.append(word.data() + start, word.size() - start);
      size_t end = word.size();
      // Keys longer than the longest vocabulary entry cannot match: start below that.
      if (pre + (end - start) > max_token_len_) {
        end = start + (max_token_len_ >= pre ? max_token_len_ - pre : 0);
        while (end > start && (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80) --end;
      }
      int32_t id = -1;
      while (end > start) {
        id = vocab_.find(std::string_view(buf.data(), pre + (end - start)));
        if (id >= 0) break;
        --end;
        while (end > start && (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80) --end;
      }
      if (id < 0) {
        out.resize(mark);
        out.push_back(unk());
        return;
      }
      out.push_back(id);
      start = end;
    }
  }
  int64_t token_to_id(std::string_view t) const override { return vocab_.find(t); }
  size_t vocab_size() const override { return vocab_.size(); }

 private:
  int32_t unk() const { return unk_id_; }
  VocabMap vocab_;
  size_t max_token_len_ = 0;
  std::string unk_token_, prefix_;
  size_t max_chars_ = 100;
  int32_t unk_id_ = -1;
};

// Open-addressing map from a 64-bit key to two 32-bit values.
class PairMap {
 public:
  void reserve(size_t n) {
    size_t cap = 16;
    while (cap < n * 2 + 1) cap <<= 1;
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
  }
  void put(uint64_t key, uint32_t a, uint32_t b) {
    for (size_t i = mix(key) & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (!s.used || s.key == key) {
        s = Slot{key, a, b, true};
        return;
      }
    }
  }
  const uint32_t* get(uint64_t key) const {
    if (slots_.empty()) return nullptr;
    for (size_t i = mix(key) & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (!s.used) return nullptr;
      if (s.key == key) return &s.a;
    }
  }

 private:
  static uint64_t mix(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return k;
  }
  struct Slot {
    uint64_t key = 0;
    uint32_t a = 0, b = 0;  // b must follow a: get() returns &a
    bool used = false;
  };
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

class BPE final : public Model {
 public:
  explicit BPE(const json::Value& v) {
    size_t max_len = 0;
    read_vocab_object(v.at("vocab"), vocab_, max_len);
    if (const auto* d = v.find("dropout"); d && !d->is_null() && d->as_double("BPE.dropout") > 0.0) {
      throw Unsupported("BPE dropout (random segmentation)");
    }
    unk_token_ = optional_string(v, "unk_token");
    prefix_ = optional_string(v, "continuing_subword_prefix");
    suffix_ = optional_string(v, "end_of_word_suffix");
    if (!unk_token_.empty()) {
      unk_id_ = vocab_.find(unk_token_);
      if (unk_id_ < 0) throw missing_unk("BPE", unk_token_);
    }
    if (const auto* x = v.find("fuse_unk"); x && !x->is_null()) fuse_unk_ = x->as_bool("BPE.fuse_unk");
    if (const auto* x = v.find("byte_fallback"); x && !x->is_null()) byte_fallback_ = x->as_bool("BPE.byte_fallback");
    if (const auto* x = v.find("ignore_merges"); x && !x->is_null()) ignore_merges_ = x->as_bool("BPE.ignore_merges");
    if (byte_fallback_) {
      for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        byte_ids_[b] = vocab_.find(name);
      }
    }
    const auto& merges = v.at("merges").as_array("BPE.merges");
    merges_.reserve(merges.size());
    uint32_t rank = 0;
    std::string merged;
    for (const auto& m : merges) {
      std::string a, b;
      if (m.is_string()) {
        const std::string& line = m.as_string();
        const size_t sp = line.find(' ');
        if (sp == std::string::npos || line.find(' ', sp + 1) != std::string::npos) {
          throw std::runtime_error("BPE.merges: bad merge '" + line + "'");
        }
        a = line.substr(0, sp);
        b = line.substr(sp + 1);
      } else {
        const auto& pair = m.as_array("BPE.merges entry");
        if (pair.size() != 2) throw std::runtime_error("BPE.merges: expected pairs");
        a = pair[0].as_string("merge");
        b = pair[1].as_string("merge");
      }
      const int32_t ia = vocab_.find(a), ib = vocab_.find(b);
      if (ia < 0 || ib < 0) throw std::runtime_error("BPE.merges: token not in vocabulary: " + (ia < 0 ? a : b));
      if (b.size() < prefix_.size()) throw std::runtime_error("BPE.merges: token shorter than the subword prefix: " + b);
      merged = a;
      merged.append(b, prefix_.size(), std::string::npos);
      const int32_t im = vocab_.find(merged);
      if (im < 0) throw std::runtime_error("BPE.merges: merged token not in vocabulary: " + merged);
      merges_.put(key(ia, ib), rank++, static_cast<uint32_t>(im));
    }
  }

  void tokenize(std::string_view word, std::vector<int32_t>& out, Workspace& ws) const override {
    if (word.empty()) return;
    if (ignore_merges_) {
      const int32_t id = vocab_.find(word);
      if (id >= 0) {
        out.push_back(id);
        return;
      }
    }
    constexpr size_t kMaxCachedWord = 256;
    constexpr size_t kCacheCapacity = 10000;
    if (word.size() < kMaxCachedWord) {
      ws.tmp.assign(word.data(), word.size());
      auto it = ws.bpe_cache.find(ws.tmp);
      if (it != ws.bpe_cache.end()) {
        out.insert(out.end(), it->second.begin(), it->second.end());
        return;
      }
    }
    const size_t mark = out.size();
    merge_word(word, out);
    if (word.size() < kMaxCachedWord && ws.bpe_cache.size() < kCacheCapacity) {
      ws.bpe_cache.emplace(std::string(word), std::vector<int32_t>(out.begin() + mark, out.end()));
    }
  }
  int64_t token_to_id(std::string_view t) const override { return vocab_.find(t); }
  size_t vocab_size() const override { return vocab_.size(); }

 private:
  static uint64_t key(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }

  struct Symbol {
    int32_t id;
    int32_t prev, next;
    bool alive;
  };

  void merge_word(std::string_view w, std::vector<int32_t>& out) const {
    std::vector<Symbol> sym;
    sym.reserve(w.size());
    auto add = [&](int32_t id) {
      sym.push_back(Symbol{id, int32_t(sym.size()) - 1, int32_t(sym.size()) + 1, true});
    };
    int32_t unk_id = -1;
    bool pending_unk = false;
    std::string s;
    for (size_t i = 0; i < w.size();) {
      const size_t b = i;
      i += utf8_len(static_cast<unsigned char>(w[i]));
      s.clear();
      if (b > 0) s += prefix_;
      s.append(w.data() + b, i - b);
      if (i == w.size()) s += suffix_;
      const int32_t id = vocab_.find(s);
      if (id >= 0) {
        if (pending_unk) {
          add(unk_id);
          pending_unk = false;
        }
        add(id);
        continue;
      }
      if (byte_fallback_) {
        bool all = true;
        for (unsigned char c : s) all = all && byte_ids_[c] >= 0;
        if (all) {
          for (unsigned char c : s) add(byte_ids_[c]);
          continue;
        }
      }
      if (unk_id_ >= 0) {
        if (pending_unk && !fuse_unk_) add(unk_id);
        // with fuse_unk the pending unk simply grows
        unk_id = unk_id_;
        pending_unk = true;
      }
    }
    if (pending_unk) add(unk_id);
    if (sym.empty()) return;
    sym.back().next = -1;

    struct Merge {
      uint32_t rank;
      int32_t pos;
      int32_t new_id;
      bool operator<(const Merge& o) const {  // max-heap on "smaller rank, then smaller pos"
        return rank != o.rank ? rank > o.rank : pos > o.pos;
      }
    };
    std::priority_queue<Merge> queue;
    for (size_t i = 0; i + 1 < sym.size(); ++i) {
      if (const uint32_t* m = merges_.get(key(sym[i].id, sym[i + 1].id))) queue.push({m[0], int32_t(i), int32_t(m[1])});
    }
    while (!queue.empty()) {
      const Merge top = queue.top();
      queue.pop();
      Symbol& cur = sym[top.pos];
      if (!cur.alive || cur.next < 0) continue;
      const Symbol right = sym[cur.next];
      const uint32_t* m = merges_.get(key(cur.id, right.id));
      if (!m || int32_t(m[1]) != top.new_id) continue;
      cur.id = top.new_id;
      sym[cur.next].alive = false;
      cur.next = right.next;
      if (right.next >= 0) sym[right.next].prev = top.pos;
      if (cur.prev >= 0) {
        if (const uint32_t* p = merges_.get(key(sym[cur.prev].id, cur.id))) queue.push({p[0], cur.prev, int32_t(p[1])});
      }
      if (cur.next >= 0) {
        if (const uint32_t* n = merges_.get(key(cur.id, sym[cur.next].id))) queue.push({n[0], top.pos, int32_t(n[1])});
      }
    }
    for (const Symbol& x : sym) {
      if (x.alive) out.push_back(x.id);
    }
  }

  VocabMap vocab_;
  PairMap merges_;
  std::string unk_token_, prefix_, suffix_;
  int32_t unk_id_ = -1;  // -1: no unknown token, unknown pieces are dropped
  bool fuse_unk_ = false, byte_fallback_ = false, ignore_merges_ = false;
  int32_t byte_ids_[256] = {};
};

class Unigram final : public Model {
 public:
  explicit Unigram(const json::Value& v) {
    const auto& vocab = v.at("vocab").as_array("Unigram.vocab");
    std::vector<std::pair<std::string, int32_t>> entries;
    entries.reserve(vocab.size());
    scores_.reserve(vocab.size());
    nodes_.push_back(Node{});
    min_score_ = std::numeric_limits<double>::infinity();
    for (size_t i = 0; i < vocab.size(); ++i) {
      const auto& e = vocab[i].as_array("Unigram.vocab entry");
      if (e.size() != 2) throw std::runtime_error("Unigram.vocab: expected [piece, score] pairs");
      const std::string& piece = e[0].as_string("Unigram piece");
      const double score = serde_json_f64(e[1].number_text("Unigram score"));
      entries.emplace_back(piece, int32_t(i));
      scores_.push_back(score);
      min_score_ = std::min(min_score_, score);
    }
    token_to_id_.build(entries);
    vocab_size_ = vocab.size();
    // Trie over bytes; a node's token is the id the piece finally maps to.
    children_.reserve(entries.size() * 4);
    for (const auto& [piece, id] : entries) {
      uint32_t node = 0;
      for (unsigned char c : piece) {
        const uint64_t k = (uint64_t(node) << 8) | c;
        const uint32_t* child = children_.get(k);
        if (child) {
          node = child[0];
        } else {
          const uint32_t fresh = uint32_t(nodes_.size());
          nodes_.push_back(Node{});
          children_.put(k, fresh, 0);
          node = fresh;
        }
      }
      if (!piece.empty()) nodes_[node].token = token_to_id_.find(piece);
    }
    if (const auto* u = v.find("unk_id"); u && !u->is_null()) {
      unk_id_ = checked_id(*u, "Unigram.unk_id");
      if (size_t(unk_id_) >= vocab.size()) throw std::runtime_error("Unigram.unk_id is out of the vocabulary");
    }
    if (const auto* x = v.find("byte_fallback"); x && !x->is_null()) byte_fallback_ = x->as_bool("Unigram.byte_fallback");
    if (byte_fallback_) {
      for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        byte_ids_[b] = token_to_id_.find(name);
      }
    }
  }

  void tokenize(std::string_view s, std::vector<int32_t>& out, Workspace&) const override {
    if (s.empty()) return;
    constexpr double kUnkPenalty = 10.0;
    const double unk_score = min_score_ - kUnkPenalty;
    const size_t n = s.size();
    struct Best {
      int32_t id = 0;
      double score = 0.0;
      int64_t start = -1;
    };
    std::vector<Best> best(n + 1);
    size_t at = 0;
    while (at < n) {
      const double here = best[at].score;
      const size_t mblen = utf8_len(static_cast<unsigned char>(s[at]));
      bool single = false;
      uint32_t node = 0;
      for (size_t k = at; k < n; ++k) {
        const uint32_t* child = children_.get((uint64_t(node) << 8) | static_cast<unsigned char>(s[k]));
        if (!child) break;
        node = child[0];
        const int32_t id = nodes_[node].token;
        if (id < 0) continue;
        const size_t end = k + 1;
        const double cand = scores_[id] + here;
        Best& t = best[end];
        if (t.start < 0 || cand > t.score) {
          t.score = cand;
          t.start = int64_t(at);
          t.id = id;
        }
        if (end - at == mblen) single = true;
      }
      if (!single) {
        Best& t = best[at + mblen];
        const double cand = unk_score + here;
        if (t.start < 0 || cand > t.score) {
          if (unk_id_ < 0) throw std::runtime_error("Unigram: unknown character and no unk_id");
          t.score = cand;
          t.start = int64_t(at);
          t.id = unk_id_;
        }
      }
      at += mblen;
    }
    // Backtrack; consecutive unknown pieces are fused into one string.
    std::vector<std::pair<size_t, size_t>> spans;
    size_t end = n;
    size_t unk_end = 0;
    bool in_unk = false;
    while (end > 0) {
      const Best& b = best[end];
      const size_t start = size_t(b.start);
      if (unk_id_ >= 0 && b.id == unk_id_) {
        if (!in_unk) {
          unk_end = end;
          in_unk = true;
        }
      } else {
        if (in_unk) {
          spans.emplace_back(end, unk_end);
          in_unk = false;
        }
        spans.emplace_back(start, end);
      }
      end = start;
    }
    if (in_unk) spans.emplace_back(0, unk_end);
    for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
      const std::string_view piece = s.substr(it->first, it->second - it->first);
      const int32_t id = token_to_id_.find(piece);
      if (id >= 0) {
        out.push_back(id);
        continue;
      }
      if (byte_fallback_) {
        bool all = true;
        for (unsigned char c : piece) all = all && byte_ids_[c] >= 0;
        if (all) {
          for (unsigned char c : piece) out.push_back(byte_ids_[c]);
          continue;
        }
      }
      if (unk_id_ < 0) throw std::runtime_error("Unigram: unknown piece and no unk_id");
      out.push_back(unk_id_);
    }
  }
  int64_t token_to_id(std::string_view t) const override { return token_to_id_.find(t); }
  size_t vocab_size() const override { return vocab_size_; }

 private:
  struct Node {
    int32_t token = -1;
  };
  VocabMap token_to_id_;
  std::vector<double> scores_;
  std::vector<Node> nodes_;
  PairMap children_;
  double min_score_ = 0.0;
  int32_t unk_id_ = -1;
  bool byte_fallback_ = false;
  int32_t byte_ids_[256] = {};
  size_t vocab_size_ = 0;
};

class WordLevel final : public Model {
 public:
  explicit WordLevel(const json::Value& v) {
    size_t max_len = 0;
    read_vocab_object(v.at("vocab"), vocab_, max_len);
    // `tokenizers` defaults the unknown token of WordLevel models to "<unk>".
    const auto* unk = v.find("unk_token");
    const std::string unk_token = unk && !unk->is_null() ? unk->as_string("unk_token") : "<unk>";
    unk_id_ = vocab_.find(unk_token);
    if (unk_id_ < 0) throw missing_unk("WordLevel", unk_token);
  }
  void tokenize(std::string_view word, std::vector<int32_t>& out, Workspace&) const override {
    const int32_t id = vocab_.find(word);
    out.push_back(id >= 0 ? id : unk_id_);
  }
  int64_t token_to_id(std::string_view t) const override { return vocab_.find(t); }
  size_t vocab_size() const override { return vocab_.size(); }

 private:
  VocabMap vocab_;
  int32_t unk_id_ = -1;
};

}  // namespace

std::unique_ptr<Model> make_model(const json::Value& v) {
  std::string type;
  if (const auto* t = v.find("type")) {
    type = t->as_string("model.type");
  } else if (v.find("merges")) {
    type = "BPE";  // older files omit the type of BPE models
  } else if (v.find("continuing_subword_prefix")) {
    type = "WordPiece";
  } else {
    throw Unsupported("model without a type");
  }
  if (type == "WordPiece") return std::make_unique<WordPiece>(v);
  if (type == "BPE") return std::make_unique<BPE>(v);
  if (type == "Unigram") return std::make_unique<Unigram>(v);
  if (type == "WordLevel") return std::make_unique<WordLevel>(v);
  throw Unsupported("model " + type);
}

}  // namespace fastsbert::tok
