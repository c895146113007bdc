#include "json_util.hpp"

#include <algorithm>

namespace tensority::wallet::detail {

const json* optional_member(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  const auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

const json& member(const json& obj, const char* key, const std::string& where) {
  if (!obj.is_object()) throw FieldError(where + ": expected a JSON object");
  const auto it = obj.find(key);
  if (it == obj.end()) throw FieldError(where + (where.empty() ? "" : ".") + key + ": missing");
  return *it;
}

namespace {

std::string field_name(const char* key, const std::string& where) {
  return where.empty() ? std::string(key) : where + "." + key;
}

}  // namespace

std::string get_string(const json& obj, const char* key, const std::string& where) {
  const json& v = member(obj, key, where);
  if (!v.is_string()) throw FieldError(field_name(key, where) + ": expected a string");
  return v.get<std::string>();
}

std::uint64_t get_u64(const json& obj, const char* key, const std::string& where) {
  const json& v = member(obj, key, where);
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0) return static_cast<std::uint64_t>(v.get<std::int64_t>());
  throw FieldError(field_name(key, where) + ": expected a non-negative integer");
}

bool get_bool(const json& obj, const char* key, const std::string& where) {
  const json& v = member(obj, key, where);
  if (!v.is_boolean()) throw FieldError(field_name(key, where) + ": expected true or false");
  return v.get<bool>();
}

core::wire::Bytes get_hex(const json& obj, const char* key, const std::string& where,
                          std::optional<std::size_t> exact_size) {
  const std::string text = get_string(obj, key, where);
  auto bytes = core::from_hex(text);
  if (!bytes) throw FieldError(field_name(key, where) + ": " + one_line(bytes.error()));
  if (exact_size && bytes->size() != *exact_size) {
    throw FieldError(field_name(key, where) + ": expected " + std::to_string(*exact_size) + " bytes, got " +
                     std::to_string(bytes->size()));
  }
  return std::move(bytes).value();
}

core::Hash get_hash(const json& obj, const char* key, const std::string& where) {
  const auto bytes = get_hex(obj, key, where, 32);
  core::Hash h{};
  std::copy(bytes.begin(), bytes.end(), h.begin());
  return h;
}

}  // namespace tensority::wallet::detail
