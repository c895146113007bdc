#include "tensority/core/block_header.hpp"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <string>
#include <string_view>

#include "tensority/core/sha3.hpp"
#include "tensority/core/wire.hpp"

namespace tensority::core {
namespace {

using wire::put_le64;
using wire::put_uvarint;

constexpr std::string_view kEntryIdPrefix = "entryid:blockheader:";
constexpr std::size_t kCommitmentRootsBytes = 64;
std::string hex_byte(std::uint8_t b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", b);
  return buf;
}

}  // namespace

std::array<std::uint8_t, kIdBodyBytes> id_body(const BlockHeader& header) {
  std::array<std::uint8_t, kIdBodyBytes> body{};
  std::uint8_t* p = body.data();
  put_le64(p + 0, header.version);
  put_le64(p + 8, header.height);
  std::copy(header.previous_block_id.begin(), header.previous_block_id.end(), p + 16);
  put_le64(p + 48, header.timestamp);
  std::copy(header.transactions_merkle_root.begin(), header.transactions_merkle_root.end(),
            p + 56);
  std::copy(header.transaction_status_hash.begin(), header.transaction_status_hash.end(),
            p + 88);
  put_le64(p + 120, header.bits);
  put_le64(p + kIdBodyNonceOffset, header.nonce);
  return body;
}

Hash block_id_from_body(std::span<const std::uint8_t, kIdBodyBytes> body) {
  const Hash inner = sha3_256(body);
  std::array<std::uint8_t, kEntryIdPrefix.size() + 32> outer{};
  std::copy(kEntryIdPrefix.begin(), kEntryIdPrefix.end(), outer.begin());
  std::copy(inner.begin(), inner.end(), outer.begin() + kEntryIdPrefix.size());
  return sha3_256(outer);
}

Hash block_id(const BlockHeader& header) {
  const auto body = id_body(header);
  return block_id_from_body(body);
}

std::vector<std::uint8_t> serialize_header(const BlockHeader& header, std::uint8_t serflag) {
  std::vector<std::uint8_t> out;
  out.reserve(1 + 3 * 10 + 32 + 5 + kCommitmentRootsBytes + header.commitment_suffix.size() +
              2 * 10);
  out.push_back(serflag);
  put_uvarint(out, header.version);
  put_uvarint(out, header.height);
  out.insert(out.end(), header.previous_block_id.begin(), header.previous_block_id.end());
  put_uvarint(out, header.timestamp);
  put_uvarint(out, kCommitmentRootsBytes + header.commitment_suffix.size());
  out.insert(out.end(), header.transactions_merkle_root.begin(),
             header.transactions_merkle_root.end());
  out.insert(out.end(), header.transaction_status_hash.begin(),
             header.transaction_status_hash.end());
  out.insert(out.end(), header.commitment_suffix.begin(), header.commitment_suffix.end());
  put_uvarint(out, header.nonce);
  put_uvarint(out, header.bits);
  return out;
}

Result<ParsedHeader> parse_header(std::span<const std::uint8_t> bytes, bool require_exact) {
  using R = Result<ParsedHeader>;
  ParsedHeader parsed;
  BlockHeader& h = parsed.header;
  wire::Reader r(bytes, "header");

  if (!r.byte(parsed.serflag, "serialization flag")) return R::failure(r.error());
  if (parsed.serflag != kSerFlagHeader && parsed.serflag != kSerFlagBlock) {
    return R::failure("header: unsupported serialization flag " + hex_byte(parsed.serflag) +
                      " at byte 0 (want 0x01 header or 0x03 block)");
  }
  if (!r.varint63(h.version, "version") || !r.varint63(h.height, "height") ||
      !r.raw(h.previous_block_id, "previous block id") ||
      !r.varint63(h.timestamp, "timestamp")) {
    return R::failure(r.error());
  }

  const std::size_t length_at = r.pos();
  std::uint64_t length = 0;
  if (!r.varint31(length, "commitment length")) return R::failure(r.error());
  if (length < kCommitmentRootsBytes) {
    return R::failure("header: commitment length " + std::to_string(length) +
                      " at byte " + std::to_string(length_at) +
                      " is shorter than the 64 bytes of its two roots");
  }
  // Checked before allocating the suffix, so a huge claimed length costs nothing.
  if (r.remaining() < length) {
    return R::failure("header: truncated at byte " + std::to_string(bytes.size()) +
                      " while reading commitment (" + std::to_string(length) + " bytes from byte " +
                      std::to_string(r.pos()) + ")");
  }
  h.commitment_suffix.resize(static_cast<std::size_t>(length) - kCommitmentRootsBytes);
  if (!r.raw(h.transactions_merkle_root, "transactions merkle root") ||
      !r.raw(h.transaction_status_hash, "transaction status hash") ||
      !r.raw(h.commitment_suffix, "commitment suffix") || !r.varint63(h.nonce, "nonce") ||
      !r.varint63(h.bits, "bits")) {
    return R::failure(r.error());
  }

  parsed.consumed = r.pos();
  if (require_exact && r.remaining() != 0) {
    return R::failure("header: " + std::to_string(r.remaining()) +
                      " trailing bytes after the header, from byte " + std::to_string(r.pos()));
  }
  return parsed;
}

}  // namespace tensority::core
