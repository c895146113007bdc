#include "tensority/core/hex.hpp"

#include <algorithm>

namespace tensority::core {
namespace {

int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string to_hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0xF];
  }
  return out;
}

Result<std::vector<std::uint8_t>> from_hex(std::string_view text) {
  using R = Result<std::vector<std::uint8_t>>;
  if (text.size() % 2 != 0) {
    return R::failure("odd number of hex digits (" + std::to_string(text.size()) + ")");
  }
  std::vector<std::uint8_t> out(text.size() / 2);
  for (std::size_t i = 0; i < text.size(); i += 2) {
    const int hi = nibble(text[i]);
    const int lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0) {
      const std::size_t bad = hi < 0 ? i : i + 1;
      const auto c = static_cast<unsigned char>(text[bad]);
      const std::string shown = (c >= 0x20 && c < 0x7F) ? std::string(1, static_cast<char>(c))
                                                         : "\\x" + to_hex(std::span(&c, 1));
      return R::failure("invalid hex character '" + shown + "' at offset " + std::to_string(bad));
    }
    out[i / 2] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return out;
}

Result<Hash> hash_from_hex(std::string_view text) {
  if (text.size() != 64) {
    return Result<Hash>::failure("expected 64 hex digits (32 bytes), got " +
                                 std::to_string(text.size()));
  }
  auto bytes = from_hex(text);
  if (!bytes) return Result<Hash>::failure(bytes.error());
  Hash h{};
  std::copy(bytes->begin(), bytes->end(), h.begin());
  return h;
}

std::string printable(std::string_view text, std::size_t max_chars) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (const char c : text.substr(0, max_chars)) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) {
      out += c;
    } else {
      out += "\\x";
      out += kDigits[u >> 4];
      out += kDigits[u & 15];
    }
  }
  if (text.size() > max_chars) out += "...";
  return out;
}

}  // namespace tensority::core
