#include "tensority/noderpc/json.hpp"

namespace tensority::noderpc {

using json = nlohmann::json;

std::string one_line(std::string text) {
  for (auto& c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = ' ';
  }
  return text;
}

core::Result<json> parse_json(std::string_view text, std::size_t max_depth) {
  using R = core::Result<json>;
  std::size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) {
        return R::failure("JSON nested deeper than " + std::to_string(max_depth) + " levels at byte " + std::to_string(i));
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    std::string msg = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 2: ..." -> "parse error at ..."
    if (const auto close = msg.find("] "); msg.starts_with("[json.exception.") && close != std::string::npos) {
      msg.erase(0, close + 2);
    }
    return R::failure("invalid JSON: " + one_line(std::move(msg)));
  }
}

}  // namespace tensority::noderpc
