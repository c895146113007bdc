#pragma once
// Difficulty retarget and the seed schedule (docs/spec/tensority.md sections 6 and 8).
#include <cstdint>
#include <optional>

#include "tensority/core/types.hpp"

namespace tensority::core {

inline constexpr std::uint64_t kBlocksPerRetarget = 2016;
inline constexpr std::uint64_t kTargetSecondsPerBlock = 150;
inline constexpr std::uint64_t kTargetTimespan = kBlocksPerRetarget * kTargetSecondsPerBlock;
inline constexpr std::uint64_t kSeedPerRetarget = 256;
inline constexpr std::uint64_t kMedianTimeBlocks = 11;
inline constexpr std::uint64_t kMaxTimeOffsetSeconds = 3600;

// bits for the block after `last` (height last_height); compare_timestamp is the timestamp
// of the ancestor at last_height - 2016 (only read on a retarget height). No clamps.
std::uint64_t next_bits(std::uint64_t last_height, std::uint64_t last_timestamp,
                        std::uint64_t last_bits, std::uint64_t compare_timestamp);

// InitialSeed = SHA3(32 zero bytes).
const Hash& initial_seed();

// Height of the ancestor whose block ID is the seed of a block at `height`, or nullopt when
// that block uses InitialSeed (heights 0..256).
std::optional<std::uint64_t> seed_ancestor_height(std::uint64_t height);

}  // namespace tensority::core
