// Post-processors of a single sequence: every supported one reduces to "prefix ids, the
// sequence, suffix ids" (pipeline.h's PostProcessor).
#include <string>

#include "tokenizer/pipeline.h"

namespace fastsbert::tok {
namespace {

void read_special(const json::Value& v, std::vector<int32_t>& ids, std::string_view what) {
  const auto& pair = v.as_array(what);
  if (pair.size() != 2) throw std::runtime_error(std::string(what) + ": expected [token, id]");
  ids.push_back(static_cast<int32_t>(pair[1].as_int(what)));
}

}  // namespace

PostProcessor make_post_processor(const json::Value& v) {
  const std::string& type = v.at("type").as_string("post_processor.type");
  PostProcessor p;
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    read_special(v.at("cls"), p.prefix, "post_processor.cls");
    read_special(v.at("sep"), p.suffix, "post_processor.sep");
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
  } else if (type == "ByteLevel") {
    // Only adjusts offsets.
  } else if (type == "Sequence") {
    for (const auto& sub : v.at("processors").as_array("Sequence.processors")) {
      PostProcessor q = make_post_processor(sub);
      p.prefix.insert(p.prefix.begin(), q.prefix.begin(), q.prefix.end());
      p.suffix.insert(p.suffix.end(), q.suffix.begin(), q.suffix.end());
    }
  } else {
    throw Unsupported("post-processor " + type);
  }
  return p;
}

}  // namespace fastsbert::tok
