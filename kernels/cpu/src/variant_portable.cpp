// Portable variant: plain C++ over row-major int8, int32 dot products. The compiler
// vectorises it for the baseline ISA; it is the fallback and the readable model of the
// fast variants.
#include <cstring>

#include "variant_common.hpp"
#include "variants_internal.hpp"

namespace tensority::kernels::cpu::detail {
namespace {

// out = Red(a * b^T), all row-major.
void product_rowmajor(const std::int8_t* a, const std::int8_t* b, std::int8_t* out) {
  for (std::size_t r = 0; r < kDim; ++r) {
    const std::int8_t* ar = a + r * kDim;
    for (std::size_t c = 0; c < kDim; ++c) {
      const std::int8_t* bc = b + c * kDim;
      std::int32_t acc = 0;
      for (std::size_t t = 0; t < kDim; ++t) acc += std::int32_t{ar[t]} * std::int32_t{bc[t]};
      out[r * kDim + c] = core::reduce(acc);
    }
  }
}

void lane_portable(const PreparedCache& cache, const core::Hash& q, Scratch& s) {
  auto* a = reinterpret_cast<std::int8_t*>(s.state[0]);
  auto* next = reinterpret_cast<std::int8_t*>(s.state[1]);
  // The identity product: A = Red(B^T).
  const std::int8_t* b0 = cache.matrix(q[0]);
  for (std::size_t r = 0; r < kDim; ++r) {
    for (std::size_t c = 0; c < kDim; ++c) a[r * kDim + c] = core::reduce(b0[c * kDim + r]);
  }
  for (std::size_t step = 1; step < core::kProductsPerLane; ++step) {
    product_rowmajor(a, cache.matrix(q[step % 32]), next);
    std::swap(a, next);
  }
  add_row_major_lane(a, s.sum);
}

void product_bench_portable(const PreparedCache& cache, std::size_t k, Scratch& s) {
  product_rowmajor(reinterpret_cast<const std::int8_t*>(s.state[0]), cache.matrix(k),
                   reinterpret_cast<std::int8_t*>(s.state[1]));
}

bool always(const hwdetect::CpuFeatures&) { return true; }

}  // namespace

const Variant kPortableVariant{"portable_rowmajor", "any x86-64", &always, &lane_portable,
                               &product_bench_portable};

}  // namespace tensority::kernels::cpu::detail
