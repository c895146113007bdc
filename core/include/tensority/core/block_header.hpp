#pragma once
// Block header: the 136-byte ID body, the block ID, and the wire serialisation
// (docs/spec/tensority.md section 5).
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "tensority/core/types.hpp"

namespace tensority::core {

struct BlockHeader {
  std::uint64_t version = 1;
  std::uint64_t height = 0;
  Hash previous_block_id{};
  std::uint64_t timestamp = 0;
  Hash transactions_merkle_root{};
  Hash transaction_status_hash{};
  std::uint64_t nonce = 0;
  std::uint64_t bits = 0;
  // The commitment is an extensible string: bytes after the two roots are kept and
  // re-emitted as they came (empty in every block seen so far).
  std::vector<std::uint8_t> commitment_suffix;

  bool operator==(const BlockHeader&) const = default;
};

inline constexpr std::size_t kIdBodyBytes = 136;
inline constexpr std::size_t kIdBodyNonceOffset = 128;

// version | height | prev | timestamp | merkle | status | bits | nonce (bits before nonce).
std::array<std::uint8_t, kIdBodyBytes> id_body(const BlockHeader& header);

// H = SHA3("entryid:blockheader:" || SHA3(body)).
Hash block_id(const BlockHeader& header);
Hash block_id_from_body(std::span<const std::uint8_t, kIdBodyBytes> body);

inline constexpr std::uint8_t kSerFlagHeader = 0x01;
inline constexpr std::uint8_t kSerFlagBlock = 0x03;

// serflag | uvarint version | uvarint height | prev(32) | uvarint timestamp
// | 0x40 merkle(32) status(32) | uvarint nonce | uvarint bits
std::vector<std::uint8_t> serialize_header(const BlockHeader& header,
                                           std::uint8_t serflag = kSerFlagHeader);

struct ParsedHeader {
  BlockHeader header;
  std::uint8_t serflag = kSerFlagHeader;
  std::size_t consumed = 0;  // bytes used; a full block (0x03) continues after this
};

// Parser of outside bytes. Varints decode as Go's uvarint does (at most 10 bytes, overflow
// rejected) and must fit varint63; the commitment varstr length is a varint31 of at least 64.
// With require_exact, trailing bytes are an error.
Result<ParsedHeader> parse_header(std::span<const std::uint8_t> bytes, bool require_exact = false);

}  // namespace tensority::core
