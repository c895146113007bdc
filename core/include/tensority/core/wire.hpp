#pragma once
// Bytom's wire primitives (docs/spec/node.md 1.1): uvarints in the varint63 and varint31 flavours,
// varstr, varstr lists and extensible strings, and the little-endian 64-bit words used inside
// entry hashing. The Reader is for untrusted bytes: every read checks what is left, and the
// first failure records one line naming the absolute byte offset and the field.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tensority::core::wire {

inline constexpr std::uint64_t kMaxVarint63 = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
inline constexpr std::uint64_t kMaxVarint31 = static_cast<std::uint64_t>(std::numeric_limits<std::int32_t>::max());

using Bytes = std::vector<std::uint8_t>;

void put_uvarint(Bytes& out, std::uint64_t v);
void put_le64(Bytes& out, std::uint64_t v);
void put_le64(std::uint8_t* out, std::uint64_t v);
void put_bytes(Bytes& out, std::span<const std::uint8_t> bytes);
void put_varstr(Bytes& out, std::span<const std::uint8_t> bytes);
void put_varstr_list(Bytes& out, const std::vector<Bytes>& items);

class Reader {
 public:
  // what names the object in messages ("header", "transaction"); base is the offset of
  // bytes[0] in the whole message, so nested readers report absolute positions.
  Reader(std::span<const std::uint8_t> bytes, std::string_view what, std::size_t base = 0)
      : bytes_(bytes), what_(what), base_(base) {}

  std::size_t pos() const { return pos_; }
  std::size_t absolute_pos() const { return base_ + pos_; }
  std::size_t remaining() const { return bytes_.size() - pos_; }
  std::span<const std::uint8_t> rest() const { return bytes_.subspan(pos_); }
  const std::string& error() const { return error_; }

  bool byte(std::uint8_t& out, const char* field);
  bool raw(std::span<std::uint8_t> out, const char* field);
  // Go binary.ReadUvarint: non-minimal encodings are accepted; more than 10 bytes or a
  // value past 2^64-1 is an overflow.
  bool uvarint(std::uint64_t& out, const char* field);
  bool varint63(std::uint64_t& out, const char* field);
  bool varint31(std::uint64_t& out, const char* field);
  // varint31 length + bytes; the length is checked against what is left before allocating.
  bool varstr(Bytes& out, const char* field);
  bool varstr_list(std::vector<Bytes>& out, const char* field);
  // An extensible string: its varint31 length, then a Reader over its body (reporting
  // absolute offsets) for the caller to parse; rest() of it is the unparsed tail.
  bool extstr(Reader& body, const char* field);
  bool skip(std::size_t n, const char* field);

  bool fail(const std::string& message);
  // Takes the error of a nested reader (an extensible string's body) as its own.
  bool adopt(const Reader& nested);

 private:
  bool truncated(const char* field, std::size_t wanted);

  std::span<const std::uint8_t> bytes_;
  std::string what_;
  std::size_t base_ = 0;
  std::size_t pos_ = 0;
  std::string error_;
};

}  // namespace tensority::core::wire
