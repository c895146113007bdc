#pragma once
// Reference Tensority (docs/spec/tensority.md section 4): slow, obviously correct, and the pieces every
// fast kernel shares (lane indices, reduction, lane sum, FNV fold, final hash).
#include <array>
#include <cstdint>
#include <span>

#include "tensority/core/matrix_cache.hpp"
#include "tensority/core/types.hpp"

namespace tensority::core {

inline constexpr std::size_t kLanes = 4;
inline constexpr std::size_t kProductsPerLane = 64;  // 32 indices, used twice

// Red(x) = int8((x + (x >> 8)) mod 256); depends only on x mod 2^16.
constexpr std::int8_t reduce(std::int32_t x) {
  return static_cast<std::int8_t>(static_cast<std::uint8_t>((x + (x >> 8)) & 0xFF));
}

// q = SHA3(block_id[8l : 8l+8]): the 32 matrix indices of lane l.
Hash lane_indices(const Hash& block_id, std::size_t lane);

using Matrix = std::array<std::int8_t, kMatrixBytes>;  // row-major 256x256

// One lane by the definition: A = I, then 64 times A = Red(A * M[q[k % 32]]^T).
void reference_lane(const MatrixCache& cache, const Hash& indices, Matrix& out);

// Byte-wise mod-256 sum of the four lane matrices, read as unsigned.
using SumMatrix = std::array<std::uint8_t, kMatrixBytes>;

// Strided pack into 64 uint32 per row and FNV fold of the 256 rows into one; returns the
// 256-byte little-endian input of the final SHA3.
std::array<std::uint8_t, 256> fnv_fold(const SumMatrix& sum);

// SHA3 of the folded row: the Tensority result.
Hash finish(const SumMatrix& sum);

// result = Tensority(block_id, seed) computed the slow way.
Hash tensority_reference(const Hash& block_id, const MatrixCache& cache);

}  // namespace tensority::core
