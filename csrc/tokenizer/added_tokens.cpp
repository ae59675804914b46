#include "tokenizer/added_tokens.h"

#include <algorithm>
#include <stdexcept>

#include "tokenizer/unicode.h"
#include "tokenizer/utf8.h"

namespace fastsbert::tok {
namespace {

bool is_word_char(char32_t c) { return unicode::has(c, unicode::kWord); }
bool is_space_char(char32_t c) { return unicode::has(c, unicode::kWhiteSpace); }

char32_t last_char(std::string_view s, size_t end, size_t& start) {
  size_t k = end - 1;
  while (k > 0 && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
  start = k;
  size_t j = k;
  return next_cp(s, j);
}

}  // namespace

void AddedMatcher::add(std::string_view pattern, size_t token_index) {
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

int32_t AddedMatcher::longest_at(std::string_view s, size_t i, size_t& len) const {
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

void AddedVocabulary::load(const json::Value& list, const Model& model,
                           const Normalizer* normalizer) {
  int64_t next_id = static_cast<int64_t>(model.vocab_size());
  std::unordered_map<int32_t, size_t> by_id;
  for (const auto& t : list.as_array("added_tokens")) {
    AddedToken a;
    a.content = t.at("content").as_string("added_tokens.content");
    if (a.content.empty()) continue;
    if (find_invalid_utf8(a.content) != std::string::npos) {
      throw std::runtime_error("added token is not UTF-8");
    }
    auto flag = [&](const char* k, bool dflt) {
      const auto* x = t.find(k);
      return x && !x->is_null() ? x->as_bool(k) : dflt;
    };
    a.special = flag("special", false);
    a.single_word = flag("single_word", false);
    a.lstrip = flag("lstrip", false);
    a.rstrip = flag("rstrip", false);
    a.normalized = flag("normalized", !a.special);
    auto known = ids_.find(a.content);
    int64_t id;
    if (known != ids_.end()) {
      id = known->second;
    } else if (int64_t mid = model.token_to_id(a.content); mid >= 0) {
      id = mid;
    } else {
      id = next_id++;
    }
    a.id = static_cast<int32_t>(id);
    ids_[a.content] = a.id;
    auto slot = by_id.find(a.id);
    if (slot != by_id.end()) {
      tokens_[slot->second] = a;
    } else {
      by_id.emplace(a.id, tokens_.size());
      tokens_.push_back(a);
    }
  }
  Workspace ws;
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const AddedToken& a = tokens_[i];
    if (a.normalized) {
      NormText nt{a.content, true};
      if (normalizer) normalizer->normalize(nt, ws);
      normalized_.add(nt.s, i);
    } else {
      raw_.add(a.content, i);
    }
  }
}

int64_t AddedVocabulary::token_to_id(std::string_view token) const {
  auto it = ids_.find(std::string(token));
  return it == ids_.end() ? -1 : it->second;
}

void AddedVocabulary::split(std::string_view s, const AddedMatcher& m,
                            std::vector<Segment>& out) const {
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
    const AddedToken& t = tokens_[ti];
    size_t start = i, stop = i + len;
    i = stop;
    if (t.single_word) {
      size_t dummy;
      const bool start_space = start == 0 || !is_word_char(last_char(s, start, dummy));
      size_t j = stop;
      const bool stop_space = stop == s.size() || !is_word_char(next_cp(s, j));
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
        if (!is_space_char(next_cp(s, j))) break;
        stop = j;
      }
    }
    if (start_offset < start) out.push_back({start_offset, start, -1});
    out.push_back({start, stop, t.id});
    start_offset = stop;
  }
  if (start_offset != s.size()) out.push_back({start_offset, s.size(), -1});
}

}  // namespace fastsbert::tok
