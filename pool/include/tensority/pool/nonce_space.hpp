#pragma once
// Disjoint nonce ranges for stratum sessions (docs/spec/stratum.md 5.3 item 3). All miners of one
// pool share one header per height (there is no extranonce), so the ranges are the only thing
// that keeps two sessions, or two pool instances on one database, from doing the same work.
//
//   nonce = 0 (bit 63) | instance (7 bits) | session (24 bits) | the miner's own 32 bits
//
// Bit 63 stays clear: the header's wire form stores the nonce as a varint63, so a nonce at or
// above 2^63 could be a valid share but never a block the node accepts.
#include <cstdint>

#include "tensority/core/types.hpp"

namespace tensority::pool {

inline constexpr unsigned kInstanceBits = 7;
inline constexpr unsigned kSessionBits = 24;
inline constexpr std::uint64_t kMaxInstance = (std::uint64_t{1} << kInstanceBits) - 1;
inline constexpr std::uint64_t kMaxSession = (std::uint64_t{1} << kSessionBits) - 1;
inline constexpr std::uint64_t kSessionRange = std::uint64_t{1} << 32;

// The first nonce of a session's range; instance and session must be within their bits.
core::Result<std::uint64_t> session_nonce_start(std::uint64_t instance, std::uint64_t session);

// Whether nonce lies in the range that starts at start.
inline bool in_session_range(std::uint64_t start, std::uint64_t nonce) { return nonce - start < kSessionRange; }

}  // namespace tensority::pool
