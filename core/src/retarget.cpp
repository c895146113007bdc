#include "tensority/core/retarget.hpp"

#include <array>

#include "tensority/core/sha3.hpp"
#include "tensority/core/target.hpp"

namespace tensority::core {

std::uint64_t next_bits(std::uint64_t last_height, std::uint64_t last_timestamp,
                        std::uint64_t last_bits, std::uint64_t compare_timestamp) {
  if (last_height == 0 || last_height % kBlocksPerRetarget != 0) return last_bits;
  // Upstream subtracts as uint64 and reinterprets as int64, so a compare timestamp later
  // than the last one (or a wrap past 2^63) yields a negative timespan and target.
  const auto actual = static_cast<std::int64_t>(last_timestamp - compare_timestamp);
  const BigInt product = compact_to_big(last_bits) * BigInt(actual);
  const BigInt divisor(kTargetTimespan);
  // Go's big.Int.Div is Euclidean (floor for a positive divisor); cpp_int truncates.
  BigInt quotient = product / divisor;
  if (product.sign() < 0 && quotient * divisor != product) --quotient;
  return big_to_compact(quotient);
}

const Hash& initial_seed() {
  static const Hash seed = [] {
    const std::array<std::uint8_t, 32> zeros{};
    return sha3_256(zeros);
  }();
  return seed;
}

std::optional<std::uint64_t> seed_ancestor_height(std::uint64_t height) {
  if (height == 0) return std::nullopt;
  const std::uint64_t p = (height - 1) / kSeedPerRetarget * kSeedPerRetarget;
  if (p == 0) return std::nullopt;
  return p;
}

}  // namespace tensority::core
