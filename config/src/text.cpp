// Value parsing, validation messages and the small text tools every part of the library shares.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <exception>
#include <limits>
#include <system_error>

#include "detail.hpp"

namespace tensority::config::detail {

std::string clean(std::string_view text, std::size_t max_chars) {
  std::string out;
  std::size_t i = 0;
  for (; i < text.size() && out.size() < max_chars; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (i < text.size()) {
    // Never end inside a UTF-8 sequence: the message may go to a terminal or a JSON log.
    while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
    if (!out.empty() && static_cast<unsigned char>(out.back()) >= 0xC0) out.pop_back();
    out += "...";
  }
  return out;
}

std::string quote(std::string_view text) { return "'" + clean(text) + "'"; }

std::optional<bool> parse_bool(std::string_view text) {
  if (text.size() > 5) return std::nullopt;
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c); });
  if (lower == "true" || lower == "yes" || lower == "on") return true;
  if (lower == "false" || lower == "no" || lower == "off") return false;
  return std::nullopt;
}

std::optional<std::int64_t> parse_int(std::string_view text, bool* overflow) {
  if (overflow != nullptr) *overflow = false;
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ptr != end || text.empty()) return std::nullopt;
  if (ec == std::errc::result_out_of_range) {
    if (overflow != nullptr) *overflow = true;
    return std::nullopt;
  }
  if (ec != std::errc()) return std::nullopt;
  return value;
}

std::optional<double> parse_number(std::string_view text, bool* overflow) {
  if (overflow != nullptr) *overflow = false;
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ptr != end || text.empty()) return std::nullopt;
  if (ec == std::errc::result_out_of_range) {
    if (overflow != nullptr) *overflow = true;
    return std::nullopt;
  }
  // inf and nan parse, but no setting means them and they would break every range check.
  if (ec != std::errc() || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::string format_number(double value) { return fmt::format("{}", value); }

std::string type_name(Type type) {
  switch (type) {
    case Type::boolean: return "boolean";
    case Type::integer: return "integer";
    case Type::number: return "number";
    case Type::string: return "text";
    case Type::list: return "list";
  }
  return "?";
}

std::string value_name(const Option& o) {
  if (!o.value_name.empty()) return o.value_name;
  switch (o.type) {
    case Type::integer: return "N";
    case Type::number: return "X";
    default: return "TEXT";
  }
}

namespace {

std::string range_text(const Option& o) {
  if (o.min && o.max) return format_number(*o.min) + ".." + format_number(*o.max);
  if (o.min) return ">= " + format_number(*o.min);
  if (o.max) return "<= " + format_number(*o.max);
  return "";
}

std::string numeric_allowed(const Option& o) {
  const std::string range = range_text(o);
  return type_name(o.type) + (range.empty() ? "" : " " + range);
}

}  // namespace

std::string allowed_item(const Option& o) {
  switch (o.type) {
    case Type::boolean: return "true/false, yes/no, on/off";
    case Type::integer:
    case Type::number: return numeric_allowed(o);
    case Type::string:
    case Type::list:
      if (!o.choices.empty()) return "one of: " + join(o.choices, ", ");
      if (!o.allowed.empty()) return o.allowed;
      return "text";
  }
  return "";
}

std::string value_problem(const Option& o, const std::string& value) {
  const std::string shown = quote(value);
  switch (o.type) {
    case Type::boolean:
      if (!parse_bool(value)) return shown + " is not a boolean (" + allowed_item(o) + ")";
      break;
    case Type::integer: {
      bool overflow = false;
      const auto v = parse_int(value, &overflow);
      if (overflow) return shown + " is out of range (" + (o.min || o.max ? allowed_item(o) : "64-bit integer") + ")";
      if (!v) return shown + " is not an integer (" + allowed_item(o) + ")";
      // long double holds every int64 exactly on the platforms we build for; double would not.
      const auto lv = static_cast<long double>(*v);
      if ((o.min && lv < static_cast<long double>(*o.min)) || (o.max && lv > static_cast<long double>(*o.max))) {
        return shown + " is out of range (" + allowed_item(o) + ")";
      }
      break;
    }
    case Type::number: {
      bool overflow = false;
      const auto v = parse_number(value, &overflow);
      if (overflow) return shown + " is out of range (" + allowed_item(o) + ")";
      if (!v) return shown + " is not a number (" + allowed_item(o) + ")";
      if ((o.min && *v < *o.min) || (o.max && *v > *o.max)) return shown + " is out of range (" + allowed_item(o) + ")";
      break;
    }
    case Type::string:
    case Type::list:
      if (!o.choices.empty() && std::find(o.choices.begin(), o.choices.end(), value) == o.choices.end()) {
        return shown + " is not allowed (" + allowed_item(o) + ")";
      }
      break;
  }
  if (o.check) {
    std::string why;
    try {
      why = o.check(value);
    } catch (const std::exception& e) {
      // A check that throws on odd input is a bug in the check, but the user still gets a line, not a crash.
      why = e.what();
      if (why.empty()) why = "rejected";
    }
    if (!why.empty()) return shown + " is not valid (" + clean(why, 200) + ")";
  }
  return "";
}

std::string values_problem(const Option& o, const std::vector<std::string>& raw) {
  for (const auto& item : raw) {
    std::string problem = value_problem(o, item);
    if (!problem.empty()) return problem;
  }
  return "";
}

std::vector<std::string> default_items(const Option& o) {
  if (o.default_text.empty()) return {};
  if (o.type != Type::list) return {o.default_text};
  std::vector<std::string> items;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = o.default_text.find(',', start);
    items.push_back(o.default_text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return items;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // Three rolling rows: the swap case looks two rows back.
  std::vector<std::size_t> back2(b.size() + 1), back1(b.size() + 1), row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) back1[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      row[j] = std::min({back1[j] + 1, row[j - 1] + 1, back1[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) row[j] = std::min(row[j], back2[j - 2] + 1);
    }
    std::swap(back2, back1);
    std::swap(back1, row);
  }
  return back1[b.size()];
}

std::optional<std::string> closest(std::string_view word, const std::vector<std::string>& candidates) {
  // Short words get little slack: "ap" -> "api" helps, "id" -> "api" would only confuse.
  const std::size_t limit = word.size() <= 3 ? 1 : word.size() <= 8 ? 2 : 3;
  std::optional<std::string> best;
  std::size_t best_distance = limit + 1;
  for (const auto& candidate : candidates) {
    const std::size_t gap =
        candidate.size() > word.size() ? candidate.size() - word.size() : word.size() - candidate.size();
    if (gap > limit) continue;
    const std::size_t d = edit_distance(word, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += separator;
    out += items[i];
  }
  return out;
}

}  // namespace tensority::config::detail
