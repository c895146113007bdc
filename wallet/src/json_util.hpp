#pragma once
// Reading untrusted JSON (key store files, asset definitions, node answers): bounded nesting,
// one-line errors naming the field, and typed field accessors that throw FieldError, which
// the parse functions turn into a Result failure at their boundary.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tensority/core/hex.hpp"
#include "tensority/core/types.hpp"
#include "tensority/core/wire.hpp"
#include "tensority/noderpc/json.hpp"

namespace tensority::wallet::detail {

using json = nlohmann::json;

struct FieldError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Parses text as JSON, refusing nesting deeper than max_depth before the parser sees it; and
// makes a message safe to print on one line. One implementation, shared with the node client.
using noderpc::one_line;
using noderpc::parse_json;

// obj[key] with obj an object; throws naming where.key when it is missing.
const json& member(const json& obj, const char* key, const std::string& where);
const json* optional_member(const json& obj, const char* key);

std::string get_string(const json& obj, const char* key, const std::string& where);
std::uint64_t get_u64(const json& obj, const char* key, const std::string& where);
bool get_bool(const json& obj, const char* key, const std::string& where);
// Hex bytes; exact_size checks the decoded length.
core::wire::Bytes get_hex(const json& obj, const char* key, const std::string& where,
                          std::optional<std::size_t> exact_size = std::nullopt);
core::Hash get_hash(const json& obj, const char* key, const std::string& where);

}  // namespace tensority::wallet::detail
