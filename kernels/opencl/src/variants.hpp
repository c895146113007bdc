#pragma once
// The lanes kernel variants. ids and finish are shared; a variant is a lanes kernel source,
// its build options, the cache layout it reads, and how it is launched.
#include <span>
#include <string>
#include <string_view>

namespace tensority::kernels::opencl {

enum class CacheLayout {
  row_major,   // M[k][c][t], as core::build_cache makes it
  transposed,  // M[k][t][c], each matrix transposed on the host before upload
};

struct Variant {
  std::string_view name;
  std::string_view source;   // file under cl/, built after common.cl
  std::string_view options;  // extra -D options
  CacheLayout layout;
  bool uses_scratch;         // needs the per-lane step buffer
  unsigned rows_per_item;    // lane rows one work-item owns
  bool fixed_group;          // the kernel requires exactly 256 / rows_per_item work-items per group
  bool cpu_default;          // the default on CPU-type devices (else on GPUs and accelerators)
  std::string_view fallback; // used instead when this one, chosen by default, fails to build
  std::string_view extension;  // a device extension the variant needs (empty: none)
  std::string_view summary;
};

// In preference order: the GPU default first, then the CPU default, then the rest.
std::span<const Variant> all_variants();
const Variant* find_variant(std::string_view name);
// The first variant for this kind of device whose extension the device lists.
const Variant& default_variant(bool cpu_device, const std::string& extensions);

}  // namespace tensority::kernels::opencl
