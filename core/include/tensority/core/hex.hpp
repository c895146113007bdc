#pragma once
// Lowercase hex in storage order (no byte reversal), as bytom shows hashes.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tensority/core/types.hpp"

namespace tensority::core {

std::string to_hex(std::span<const std::uint8_t> bytes);

// Accepts upper or lower case, no prefix, no whitespace; even length only.
Result<std::vector<std::uint8_t>> from_hex(std::string_view text);

// Exactly 64 hex characters.
Result<Hash> hash_from_hex(std::string_view text);

// Outside text made safe for a one-line message: printable ASCII kept, any other byte as
// \xNN, cut after max_chars with "...".
std::string printable(std::string_view text, std::size_t max_chars = 80);

}  // namespace tensority::core
