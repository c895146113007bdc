#pragma once
// Shared by the schema, YAML, CLI and docs parts of the library; not installed.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tensority/config/schema.hpp"

namespace tensority::config {

// Values' raw store, for loaders that have already validated what they write.
struct ValuesAccess {
  static void put(Values& values, const std::string& key, std::vector<std::string> raw, std::string source) {
    values.set_[key] = Values::Entry{std::move(raw), std::move(source)};
  }
};

namespace detail {

// User text made safe for a one-line message: control bytes escaped, long text cut short.
std::string clean(std::string_view text, std::size_t max_chars = 80);
// clean() in single quotes: the way every message shows a value or key.
std::string quote(std::string_view text);

std::optional<bool> parse_bool(std::string_view text);
// nullopt with *overflow set when the text is an integer that does not fit int64.
std::optional<std::int64_t> parse_int(std::string_view text, bool* overflow = nullptr);
std::optional<double> parse_number(std::string_view text, bool* overflow = nullptr);

std::string format_number(double value);
std::string type_name(Type type);
// The placeholder shown after a flag: Option::value_name, else N / X / TEXT by type.
std::string value_name(const Option& option);
// Allowed values for one item: of the option, or of one list item.
std::string allowed_item(const Option& option);
// "" when `value` is fine for `option` (one item of a list for list options), else
// "'v' is not an integer (integer 0..65535)".
std::string value_problem(const Option& option, const std::string& value);
// All items of `raw` for `option`: "" or the first problem.
std::string values_problem(const Option& option, const std::vector<std::string>& raw);
// The default as items: {} when there is none, comma-split for lists.
std::vector<std::string> default_items(const Option& option);

// Optimal string alignment distance (adjacent swaps count 1): "devcie" is 1 from "device".
std::size_t edit_distance(std::string_view a, std::string_view b);
// The closest of `candidates` to `word`, if close enough to be a likely typo.
std::optional<std::string> closest(std::string_view word, const std::vector<std::string>& candidates);

std::string join(const std::vector<std::string>& items, std::string_view separator);

}  // namespace detail
}  // namespace tensority::config
