// from_hex / hash_from_hex on arbitrary bytes: no crash, and success exactly when the text is
// even-length hex (64 digits for a hash), with to_hex giving the lowercased input back.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "tensority/core/hex.hpp"

namespace {

bool is_hex_digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tensority::core;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  bool all_hex = true;
  for (char c : text) all_hex = all_hex && is_hex_digit(c);
  const bool valid = all_hex && size % 2 == 0;

  const auto bytes = from_hex(text);
  FUZZ_CHECK(bytes.ok() == valid);
  if (bytes) {
    FUZZ_CHECK(bytes->size() * 2 == size);
    FUZZ_CHECK(to_hex(*bytes) == lower(text));
  } else {
    FUZZ_CHECK(!bytes.error().empty());
    FUZZ_CHECK(bytes.error().find('\n') == std::string::npos);
  }

  const auto hash = hash_from_hex(text);
  FUZZ_CHECK(hash.ok() == (valid && size == 64));
  if (hash) {
    FUZZ_CHECK(to_hex(*hash) == lower(text));
  } else {
    FUZZ_CHECK(!hash.error().empty());
  }
  return 0;
}
