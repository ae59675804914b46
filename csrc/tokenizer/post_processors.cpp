// Post-processors: every supported one reduces to "prefix ids, the sequence, suffix ids"
// for a single sequence and to "prefix, A, middle, B, suffix" for a pair, each part with
// its token type id (pipeline.h's PostProcessor).
#include <string>

#include "tokenizer/pipeline.h"

namespace fastsbert::tok {
namespace {

void read_special(const json::Value& v, std::vector<int32_t>& ids, std::string_view what) {
  const auto& pair = v.as_array(what);
  if (pair.size() != 2) throw std::runtime_error(std::string(what) + ": expected [token, id]");
  ids.push_back(static_cast<int32_t>(pair[1].as_int(what)));
}

int32_t read_special_id(const json::Value& v, std::string_view what) {
  const auto& pair = v.as_array(what);
  if (pair.size() != 2) throw std::runtime_error(std::string(what) + ": expected [token, id]");
  return static_cast<int32_t>(pair[1].as_int(what));
}

// TemplateProcessing's pair template: "SpecialToken" and "Sequence" pieces, each with a
// type_id; the sequences must be A then B, once each.
void read_pair_template(const json::Value& v, PostProcessor& p) {
  const auto& specials = v.at("special_tokens");
  int seen = 0;  // sequences met so far
  for (const auto& piece : v.at("pair").as_array("TemplateProcessing.pair")) {
    if (const auto* seq = piece.find("Sequence")) {
      const std::string& id = seq->at("id").as_string("Sequence.id");
      const auto type = static_cast<int32_t>(seq->at("type_id").as_int("Sequence.type_id"));
      if (seen == 0 && id == "A") {
        p.type_a = type;
      } else if (seen == 1 && id == "B") {
        p.type_b = type;
      } else {
        p.pair_error = "TemplateProcessing pair template other than sequence A then sequence B";
        return;
      }
      ++seen;
    } else if (const auto* sp = piece.find("SpecialToken")) {
      const std::string& name = sp->at("id").as_string("SpecialToken.id");
      const auto type = static_cast<int32_t>(sp->at("type_id").as_int("SpecialToken.type_id"));
      const json::Value* special = specials.find(name);
      if (!special) throw std::runtime_error("TemplateProcessing: missing special token " + name);
      Specials& dst = seen == 0 ? p.pair_prefix : seen == 1 ? p.pair_middle : p.pair_suffix;
      for (const auto& id : special->at("ids").as_array("special_tokens.ids")) {
        dst.add(static_cast<int32_t>(id.as_int("special token id")), type);
      }
    } else {
      throw Unsupported("TemplateProcessing piece");
    }
  }
  if (seen != 2) p.pair_error = "TemplateProcessing pair template without sequences A and B";
}

// Whether a processor changes the ids (ByteLevel only adjusts offsets).
bool adds_tokens(const PostProcessor& p) {
  return p.added() > 0 || p.pair_added() > 0 || !p.pair_error.empty() || p.type_a != 0 ||
         p.type_b != 1;
}

}  // namespace

PostProcessor make_post_processor(const json::Value& v) {
  const std::string& type = v.at("type").as_string("post_processor.type");
  PostProcessor p;
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    read_special(v.at("cls"), p.prefix, "post_processor.cls");
    read_special(v.at("sep"), p.suffix, "post_processor.sep");
    const int32_t cls = read_special_id(v.at("cls"), "post_processor.cls");
    const int32_t sep = read_special_id(v.at("sep"), "post_processor.sep");
    if (type == "BertProcessing") {
      // [CLS] A [SEP] B [SEP], B and its [SEP] of type 1.
      p.pair_prefix.add(cls, 0);
      p.pair_middle.add(sep, 0);
      p.pair_suffix.add(sep, 1);
      p.type_a = 0, p.type_b = 1;
    } else {
      // <s> A </s> </s> B </s>, every token of type 0.
      p.pair_prefix.add(cls, 0);
      p.pair_middle.add(sep, 0);
      p.pair_middle.add(sep, 0);
      p.pair_suffix.add(sep, 0);
      p.type_a = 0, p.type_b = 0;
    }
  } else if (type == "TemplateProcessing") {
    const auto& specials = v.at("special_tokens");
    bool seen_a = false;
    for (const auto& piece : v.at("single").as_array("TemplateProcessing.single")) {
      if (const auto* seq = piece.find("Sequence")) {
        if (seen_a || seq->at("id").as_string("Sequence.id") != "A") {
          throw Unsupported("TemplateProcessing single template other than one sequence A");
        }
        seen_a = true;
      } else if (const auto* sp = piece.find("SpecialToken")) {
        const std::string& name = sp->at("id").as_string("SpecialToken.id");
        const json::Value* special = specials.find(name);
        if (!special) throw std::runtime_error("TemplateProcessing: missing special token " + name);
        auto& dst = seen_a ? p.suffix : p.prefix;
        for (const auto& id : special->at("ids").as_array("special_tokens.ids")) {
          dst.push_back(static_cast<int32_t>(id.as_int("special token id")));
        }
      } else {
        throw Unsupported("TemplateProcessing piece");
      }
    }
    if (!seen_a) throw Unsupported("TemplateProcessing single template without sequence A");
    if (const auto* pair = v.find("pair"); pair && !pair->is_null()) {
      read_pair_template(v, p);
    } else {
      p.pair_error = "TemplateProcessing without a pair template";
    }
  } else if (type == "ByteLevel") {
    // Only adjusts offsets.
  } else if (type == "Sequence") {
    bool pair_set = false;
    for (const auto& sub : v.at("processors").as_array("Sequence.processors")) {
      PostProcessor q = make_post_processor(sub);
      p.prefix.insert(p.prefix.begin(), q.prefix.begin(), q.prefix.end());
      p.suffix.insert(p.suffix.end(), q.suffix.begin(), q.suffix.end());
      if (!adds_tokens(q)) continue;
      // Pairs: one processor that adds tokens, the usual ByteLevel + template.
      if (pair_set) {
        p.pair_error = "a Sequence of several post-processors that add tokens to pairs";
        continue;
      }
      pair_set = true;
      p.pair_prefix = q.pair_prefix, p.pair_middle = q.pair_middle, p.pair_suffix = q.pair_suffix;
      p.type_a = q.type_a, p.type_b = q.type_b;
      if (p.pair_error.empty()) p.pair_error = q.pair_error;
    }
  } else {
    throw Unsupported("post-processor " + type);
  }
  return p;
}

}  // namespace fastsbert::tok
