#pragma once
// The per-seed cache: 256 row-major int8 matrices of 256x256 (16 MiB) made by the scrypt
// smix core (docs/spec/tensority.md section 3).
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "tensority/core/types.hpp"

namespace tensority::core {

inline constexpr std::size_t kDim = 256;                      // rows = columns = depth
inline constexpr std::size_t kMatrixBytes = kDim * kDim;      // 65,536
inline constexpr std::size_t kMatrixCount = 256;
inline constexpr std::size_t kCacheBytes = kMatrixBytes * kMatrixCount;  // 16 MiB
inline constexpr std::size_t kChunkCount = kMatrixCount / 2;  // one smix chunk -> 2 matrices

// E = S || SHA3(S) || SHA3(SHA3(S)) || SHA3(SHA3(SHA3(S)))
std::array<std::uint8_t, 128> extended_seed(const Hash& seed);

// Called after smix chunk c has written matrices 2c and 2c+1 into the output, so that a
// caller can transform finished matrices while later chunks are still being computed.
using ChunkDone = std::function<void(std::size_t chunk)>;

// Fills out (kCacheBytes) with M[0] || M[1] || ... || M[255]. The 128 chunks form one
// sequential chain, so this runs on the calling thread.
void build_cache(const Hash& seed, std::span<std::int8_t> out, const ChunkDone& on_chunk = {});

class MatrixCache {
 public:
  explicit MatrixCache(const Hash& seed);
  const Hash& seed() const { return seed_; }
  const std::int8_t* matrix(std::size_t k) const { return data_.data() + k * kMatrixBytes; }
  std::span<const std::int8_t> bytes() const { return data_; }

 private:
  Hash seed_;
  std::vector<std::int8_t> data_;
};

}  // namespace tensority::core
