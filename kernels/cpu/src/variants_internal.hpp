#pragma once
// The variant objects each variant file defines; variants.cpp lists them.
#include "tensority/kernels/cpu/variant.hpp"

namespace tensority::kernels::cpu::detail {

extern const Variant kAvx512VnniVariant;
extern const Variant kAvx2Variant;
extern const Variant kPortableVariant;

}  // namespace tensority::kernels::cpu::detail
