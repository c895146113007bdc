#pragma once

// CPU identity and instruction-set features, read with cpuid and xgetbv only.
// Nothing here touches hwloc or the file system: the kernel dispatcher calls
// detect_cpu_features() on its hot start-up path and in processes where hwloc
// may be unavailable.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tensority::hwdetect {

// A feature is true only when the CPU reports it AND the operating system saves
// the register state it needs (XCR0), because executing e.g. AVX-512 code on a
// CPU that has it but under an OS that does not enable ZMM state faults.
struct CpuFeatures {
  bool sse4_2 = false;
  bool avx = false;
  bool avx2 = false;
  bool fma = false;
  bool bmi2 = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512dq = false;
  bool avx512_vnni = false;
  bool avx_vnni = false;  // the VEX-encoded VNNI (Alder Lake, Zen 5), not AVX-512
  bool avx512vbmi = false;
  bool amx_tile = false;
  bool amx_int8 = false;
  bool amx_bf16 = false;
  bool sha_ni = false;

  // The names of the features present, in the spelling of the Linux
  // /proc/cpuinfo "flags" line so that logs and JSON can be compared with it.
  [[nodiscard]] std::vector<std::string_view> names() const;

  // Whether the feature with this (flags-line) name is present; false for an
  // unknown name.
  [[nodiscard]] bool has(std::string_view name) const;

  // Every name this struct knows, present or not.
  [[nodiscard]] static std::span<const std::string_view> known_names();

  friend bool operator==(const CpuFeatures&, const CpuFeatures&) = default;
};

// Reads the features once per process and returns the cached result afterwards;
// cpuid traps to the hypervisor in a VM, so repeated calls should not re-run it.
[[nodiscard]] CpuFeatures detect_cpu_features();

// On Linux the kernel enables AMX tile state in XCR0 but still traps its first
// use unless the process asked for it (arch_prctl ARCH_REQ_XCOMP_PERM). A kernel
// that wants to execute AMX instructions must call this first. Returns false
// where AMX is absent or the request was refused.
[[nodiscard]] bool request_amx_permission();

struct CpuIdentity {
  std::string vendor;  // "GenuineIntel", "AuthenticAMD", ... ; empty off x86
  std::string brand;   // cpuid 0x80000002-4, surrounding spaces removed
  unsigned family = 0;  // display family (base + extended where applicable)
  unsigned model = 0;   // display model (extended model folded in)
  unsigned stepping = 0;
};

[[nodiscard]] CpuIdentity detect_cpu_identity();

}  // namespace tensority::hwdetect
