#include "tensority/core/wire.hpp"

#include <algorithm>

namespace tensority::core::wire {
namespace {
constexpr std::size_t kMaxVarintBytes = 10;
}  // namespace

void put_uvarint(Bytes& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<std::uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(v));
}

void put_le64(std::uint8_t* out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    out[i] = static_cast<std::uint8_t>(v);
    v >>= 8;
  }
}

void put_le64(Bytes& out, std::uint64_t v) {
  std::uint8_t b[8];
  put_le64(b, v);
  out.insert(out.end(), b, b + 8);
}

void put_bytes(Bytes& out, std::span<const std::uint8_t> bytes) { out.insert(out.end(), bytes.begin(), bytes.end()); }

void put_varstr(Bytes& out, std::span<const std::uint8_t> bytes) {
  put_uvarint(out, bytes.size());
  put_bytes(out, bytes);
}

void put_varstr_list(Bytes& out, const std::vector<Bytes>& items) {
  put_uvarint(out, items.size());
  for (const auto& item : items) put_varstr(out, item);
}

bool Reader::fail(const std::string& message) {
  if (error_.empty()) error_ = what_ + ": " + message;
  return false;
}

bool Reader::adopt(const Reader& nested) {
  if (error_.empty()) error_ = nested.error_;
  return false;
}

bool Reader::truncated(const char* field, std::size_t wanted) {
  return fail("truncated at byte " + std::to_string(base_ + bytes_.size()) + " while reading " + field + " (" +
              std::to_string(wanted) + " bytes from byte " + std::to_string(absolute_pos()) + ")");
}

bool Reader::byte(std::uint8_t& out, const char* field) {
  if (remaining() < 1) return truncated(field, 1);
  out = bytes_[pos_++];
  return true;
}

bool Reader::raw(std::span<std::uint8_t> out, const char* field) {
  if (remaining() < out.size()) return truncated(field, out.size());
  std::copy_n(bytes_.begin() + static_cast<std::ptrdiff_t>(pos_), out.size(), out.begin());
  pos_ += out.size();
  return true;
}

bool Reader::skip(std::size_t n, const char* field) {
  if (remaining() < n) return truncated(field, n);
  pos_ += n;
  return true;
}

bool Reader::uvarint(std::uint64_t& out, const char* field) {
  const std::size_t start = absolute_pos();
  std::uint64_t x = 0;
  unsigned shift = 0;
  for (std::size_t i = 0; i < kMaxVarintBytes; ++i) {
    if (remaining() < 1) return truncated(field, 1);
    const std::uint8_t b = bytes_[pos_++];
    if (b < 0x80) {
      if (i == kMaxVarintBytes - 1 && b > 1) break;
      out = x | static_cast<std::uint64_t>(b) << shift;
      return true;
    }
    x |= static_cast<std::uint64_t>(b & 0x7F) << shift;
    shift += 7;
  }
  return fail("varint overflow at byte " + std::to_string(start) + " while reading " + field);
}

namespace {
bool bounded(Reader& r, std::uint64_t& out, std::uint64_t max, const char* max_text, const char* field) {
  const std::size_t start = r.absolute_pos();
  if (!r.uvarint(out, field)) return false;
  if (out > max) {
    return r.fail(std::string(field) + " " + std::to_string(out) + " exceeds " + max_text + " (varint at byte " +
                  std::to_string(start) + ")");
  }
  return true;
}
}  // namespace

bool Reader::varint63(std::uint64_t& out, const char* field) { return bounded(*this, out, kMaxVarint63, "2^63-1", field); }
bool Reader::varint31(std::uint64_t& out, const char* field) { return bounded(*this, out, kMaxVarint31, "2^31-1", field); }

bool Reader::varstr(Bytes& out, const char* field) {
  std::uint64_t n = 0;
  if (!varint31(n, field)) return false;
  if (remaining() < n) return truncated(field, static_cast<std::size_t>(n));
  out.assign(bytes_.begin() + static_cast<std::ptrdiff_t>(pos_),
             bytes_.begin() + static_cast<std::ptrdiff_t>(pos_ + static_cast<std::size_t>(n)));
  pos_ += static_cast<std::size_t>(n);
  return true;
}

bool Reader::varstr_list(std::vector<Bytes>& out, const char* field) {
  std::uint64_t count = 0;
  if (!varint31(count, field)) return false;
  // Each item takes at least one byte, so a count beyond what is left is a lie; refusing it
  // here keeps a hostile count from reserving memory.
  if (count > remaining()) return fail(std::string(field) + ": count " + std::to_string(count) + " exceeds the " +
                                       std::to_string(remaining()) + " bytes left");
  out.clear();
  out.reserve(static_cast<std::size_t>(count));
  for (std::uint64_t i = 0; i < count; ++i) {
    Bytes item;
    if (!varstr(item, field)) return false;
    out.push_back(std::move(item));
  }
  return true;
}

bool Reader::extstr(Reader& body, const char* field) {
  std::uint64_t n = 0;
  if (!varint31(n, field)) return false;
  if (remaining() < n) return truncated(field, static_cast<std::size_t>(n));
  body = Reader(bytes_.subspan(pos_, static_cast<std::size_t>(n)), what_, absolute_pos());
  pos_ += static_cast<std::size_t>(n);
  return true;
}

}  // namespace tensority::core::wire
