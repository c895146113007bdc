#include "variants.hpp"

#include <array>

#include "cl_util.hpp"

namespace tensority::kernels::opencl {

std::span<const Variant> all_variants() {
  // Measured on the 2-core development VM with PoCL 3.1 (tensority bench --seconds 20):
  // bt_r8c2w32 84.8 H/s, bt_r4c4w32 81.9, bt_r4c4 44.6, rows_local16 1.3 (a GPU design).
  static constexpr std::array<Variant, 5> variants{{
      {"rows_dot16", "lanes_rows.cl", "-DCHUNK=16 -DKHR_DOT", CacheLayout::row_major, true, 1, true, false,
       "rows_local16", "cl_khr_integer_dot_product",
       "GPU: rows_local16 with the extension's non-saturating int8 dot() (dp4a)"},
      {"rows_local16", "lanes_rows.cl", "-DCHUNK=16", CacheLayout::row_major, true, 1, true, false, "", "",
       "GPU: one work-item per row, the row in registers as int8x4, B staged in local memory 16 rows at a time"},
      {"bt_r8c2w32", "lanes_bt.cl", "-DRB=8 -DCV=2 -DVW=32", CacheLayout::transposed, false, 8, false, true,
       "bt_r4c4", "", "CPU: 8 rows x 64 columns per work-item tile, 32-lane int16 vectors (clang) over a transposed cache"},
      {"bt_r4c4w32", "lanes_bt.cl", "-DRB=4 -DCV=4 -DVW=32", CacheLayout::transposed, false, 4, false, false, "", "",
       "CPU: 4 rows x 128 columns per work-item tile, 32-lane int16 vectors (clang) over a transposed cache"},
      {"bt_r4c4", "lanes_bt.cl", "-DRB=4 -DCV=4", CacheLayout::transposed, false, 4, false, false, "", "",
       "CPU, any OpenCL C compiler: 4 rows x 64 columns per work-item tile, ushort16 vectors"},
  }};
  return variants;
}

const Variant* find_variant(std::string_view name) {
  for (const Variant& v : all_variants()) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

const Variant& default_variant(bool cpu_device, const std::string& extensions) {
  for (const Variant& v : all_variants()) {
    if (v.cpu_default != cpu_device) continue;
    if (!v.extension.empty() && !has_extension(extensions, v.extension)) continue;
    return v;
  }
  return all_variants().front();
}

}  // namespace tensority::kernels::opencl
