#pragma once
// Pieces the variants share. Header-private to kernels/cpu/src. Everything here is
// compiled for the baseline ISA: variant files put target attributes on their own
// functions only, so no inline function instantiated here can carry wider instructions
// into code that runs on older CPUs.
#include <cstddef>
#include <cstdint>

#include "tensority/core/tensority.hpp"

namespace tensority::kernels::cpu::detail {

using core::kDim;
inline constexpr std::size_t kQuads = kDim / 4;

// sum[g][r][j] += lane[r][4g+j] for a row-major lane matrix.
inline void add_row_major_lane(const std::int8_t* lane, std::uint8_t* sum) {
  for (std::size_t r = 0; r < kDim; ++r) {
    for (std::size_t c = 0; c < kDim; ++c) {
      std::uint8_t& s = sum[(c / 4) * kDim * 4 + r * 4 + (c % 4)];
      s = static_cast<std::uint8_t>(s + static_cast<std::uint8_t>(lane[r * kDim + c]));
    }
  }
}

}  // namespace tensority::kernels::cpu::detail
