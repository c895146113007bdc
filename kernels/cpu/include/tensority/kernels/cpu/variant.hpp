#pragma once
// CPU kernel variants, chosen at run time from the CPU's features so one x86-64 binary
// runs everywhere. Each variant computes whole lanes in its own state layout and adds the
// final lane matrix into a shared "quad-packed" sum: byte sum[g][r][j] holds column 4g+j of
// row r (g < 64, r < 256, j < 4). A variant may add a constant 0x80 to every byte of every
// lane; four lanes add 0x200, which vanishes mod 256.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "tensority/core/types.hpp"
#include "tensority/hwdetect/cpu.hpp"
#include "tensority/kernels/cpu/prepared_cache.hpp"

namespace tensority::kernels::cpu {

// Per-thread working memory, 64-byte aligned. Sized for the largest variant state
// (int16 state of the AVX2 variant: 128 KiB).
struct alignas(64) Scratch {
  static constexpr std::size_t kStateBytes = 2 * core::kMatrixBytes;
  std::uint8_t state[2][kStateBytes];
  std::uint8_t widened[kStateBytes];  // per-product operand copy (AVX2 widens B to int16)
  std::uint8_t sum[core::kMatrixBytes];
  std::uint8_t row_major[core::kMatrixBytes];
};

struct Variant {
  std::string_view name;  // method and tile shape, e.g. "avx512vnni_64x4"
  std::string_view isa;   // what the CPU must have, for humans
  bool (*supported)(const hwdetect::CpuFeatures&);
  // Runs one lane (64 products over cache matrices indices[k % 32]) and adds its final
  // matrix into scratch.sum (quad-packed, see above).
  void (*lane)(const PreparedCache& cache, const core::Hash& indices, Scratch& scratch);
  // One 256x256x256 product + reduction from state[0] into state[1] (any contents), for
  // microbenchmarks.
  void (*product)(const PreparedCache& cache, std::size_t matrix, Scratch& scratch);
};

// Every variant compiled into this binary, fastest first.
std::span<const Variant* const> all_variants();
// The fastest variant the CPU supports (the portable one always qualifies).
const Variant& best_variant(const hwdetect::CpuFeatures& features);
// By name; nullptr if unknown or unsupported on this CPU.
const Variant* find_variant(std::string_view name, const hwdetect::CpuFeatures& features);

// Tensority(block_id) with the given variant.
core::Hash hash(const Variant& variant, const PreparedCache& cache, const core::Hash& block_id,
                Scratch& scratch);

}  // namespace tensority::kernels::cpu
