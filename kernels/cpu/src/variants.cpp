#include <array>
#include <cstring>

#include "tensority/core/tensority.hpp"
#include "variant_common.hpp"
#include "variants_internal.hpp"

namespace tensority::kernels::cpu {
namespace {

const std::array<const Variant*, 3> kVariants{&detail::kAvx512VnniVariant, &detail::kAvx2Variant,
                                              &detail::kPortableVariant};

}  // namespace

std::span<const Variant* const> all_variants() { return kVariants; }

const Variant& best_variant(const hwdetect::CpuFeatures& features) {
  for (const Variant* v : all_variants()) {
    if (v->supported(features)) return *v;
  }
  return detail::kPortableVariant;
}

const Variant* find_variant(std::string_view name, const hwdetect::CpuFeatures& features) {
  for (const Variant* v : all_variants()) {
    if (v->name == name) return v->supported(features) ? v : nullptr;
  }
  return nullptr;
}

core::Hash hash(const Variant& variant, const PreparedCache& cache, const core::Hash& block_id,
                Scratch& scratch) {
  std::memset(scratch.sum, 0, sizeof(scratch.sum));
  for (std::size_t l = 0; l < core::kLanes; ++l) {
    variant.lane(cache, core::lane_indices(block_id, l), scratch);
  }
  // Quad-packed [g][r][j] -> row-major [r][4g+j]: once per hash, so plain code will do.
  auto* sum = reinterpret_cast<core::SumMatrix*>(scratch.row_major);
  for (std::size_t g = 0; g < detail::kQuads; ++g) {
    for (std::size_t r = 0; r < core::kDim; ++r) {
      std::memcpy(sum->data() + r * core::kDim + 4 * g, scratch.sum + (g * core::kDim + r) * 4, 4);
    }
  }
  return core::finish(*sum);
}

}  // namespace tensority::kernels::cpu
