#pragma once
// The 64-bit compact "bits" (55-bit mantissa), targets, work and the PoW comparison
// (docs/spec/tensority.md section 7).
#include <array>
#include <cstdint>

#include <boost/multiprecision/cpp_int.hpp>

#include "tensority/core/types.hpp"

namespace tensority::core {

using BigInt = boost::multiprecision::cpp_int;

// Decodes bits into a signed, arbitrarily large target (exponent up to 255).
BigInt compact_to_big(std::uint64_t bits);

// upstream BigToCompact: at most 3 significant mantissa bytes, magnitude of negative
// values rounded up (arithmetic shift), exponent byte wraps silently.
std::uint64_t big_to_compact(const BigInt& value);

// floor(2^256 / (Target + 1)) for Target > 0, else 0.
BigInt calc_work(std::uint64_t bits);

// The result read as a little-endian 256-bit integer.
BigInt hash_to_big(const Hash& hash);

// A target clamped to what a 256-bit result can be compared against, for hot loops:
// limbs are little-endian 64-bit words of min(Target, 2^256 - 1).
struct Target256 {
  bool never = false;                // Target < 0: no result qualifies
  std::array<std::uint64_t, 4> limbs{};

  static Target256 from_bits(std::uint64_t bits);
  static Target256 from_big(const BigInt& target);
  bool met_by(const Hash& result) const;  // LE_uint256(result) <= Target
};

// PoW valid <=> LE_uint256(result) <= Target(bits).
bool check_pow(const Hash& result, std::uint64_t bits);

}  // namespace tensority::core
