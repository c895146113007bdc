#pragma once
// Reading JSON from outside (a node's answers, key store files): nesting bounded before the
// parser runs, so no later walk over the value (dump, comparison) recurses deeper than a
// caller expects; errors are one line without control characters.
#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tensority/core/types.hpp"

namespace tensority::noderpc {

core::Result<nlohmann::json> parse_json(std::string_view text, std::size_t max_depth);
// Control characters (a hostile node's or file's) become spaces: one line in a log.
std::string one_line(std::string text);

}  // namespace tensority::noderpc
