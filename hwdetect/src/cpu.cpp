#include "tensority/hwdetect/cpu.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64) || defined(_M_IX86)
#define TENSORITY_HWDETECT_X86 1
#if defined(_MSC_VER) && !defined(__clang__)
#include <immintrin.h>
#include <intrin.h>
#else
#include <cpuid.h>
#endif
#endif

#if defined(TENSORITY_HWDETECT_X86) && defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace tensority::hwdetect {
namespace {

struct FeatureField {
  std::string_view name;
  bool CpuFeatures::*member;
};

// Names follow the Linux /proc/cpuinfo flags line.
constexpr std::array<FeatureField, 16> kFeatureFields{{
    {"sse4_2", &CpuFeatures::sse4_2},
    {"avx", &CpuFeatures::avx},
    {"avx2", &CpuFeatures::avx2},
    {"fma", &CpuFeatures::fma},
    {"bmi2", &CpuFeatures::bmi2},
    {"avx512f", &CpuFeatures::avx512f},
    {"avx512bw", &CpuFeatures::avx512bw},
    {"avx512vl", &CpuFeatures::avx512vl},
    {"avx512dq", &CpuFeatures::avx512dq},
    {"avx512_vnni", &CpuFeatures::avx512_vnni},
    {"avx_vnni", &CpuFeatures::avx_vnni},
    {"avx512vbmi", &CpuFeatures::avx512vbmi},
    {"amx_tile", &CpuFeatures::amx_tile},
    {"amx_int8", &CpuFeatures::amx_int8},
    {"amx_bf16", &CpuFeatures::amx_bf16},
    {"sha_ni", &CpuFeatures::sha_ni},
}};

constexpr std::array<std::string_view, kFeatureFields.size()> kFeatureNames = [] {
  std::array<std::string_view, kFeatureFields.size()> names{};
  for (std::size_t i = 0; i < kFeatureFields.size(); ++i) names[i] = kFeatureFields[i].name;
  return names;
}();

#if defined(TENSORITY_HWDETECT_X86)

struct Regs {
  std::uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

Regs cpuid(std::uint32_t leaf, std::uint32_t subleaf = 0) {
  Regs r;
#if defined(_MSC_VER) && !defined(__clang__)
  int out[4];
  __cpuidex(out, static_cast<int>(leaf), static_cast<int>(subleaf));
  r = {static_cast<std::uint32_t>(out[0]), static_cast<std::uint32_t>(out[1]),
       static_cast<std::uint32_t>(out[2]), static_cast<std::uint32_t>(out[3])};
#else
  unsigned a = 0, b = 0, c = 0, d = 0;
  __cpuid_count(leaf, subleaf, a, b, c, d);
  r = {a, b, c, d};
#endif
  return r;
}

// Only valid once cpuid.1:ECX.OSXSAVE says the OS enabled XSAVE; otherwise the
// instruction raises #UD.
std::uint64_t read_xcr0() {
#if defined(_MSC_VER) && !defined(__clang__)
  return _xgetbv(0);
#else
  std::uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0u));
  return (static_cast<std::uint64_t>(hi) << 32) | lo;
#endif
}

constexpr bool bit(std::uint32_t word, unsigned n) { return ((word >> n) & 1u) != 0; }

CpuFeatures read_features() {
  CpuFeatures f;
  const std::uint32_t max_leaf = cpuid(0).eax;
  if (max_leaf < 1) return f;

  const Regs l1 = cpuid(1);
  const bool osxsave = bit(l1.ecx, 27);
  const std::uint64_t xcr0 = osxsave ? read_xcr0() : 0;
  // XCR0 bit 1 = SSE (XMM), bit 2 = AVX (upper YMM); bits 5-7 = opmask, upper
  // ZMM0-15, ZMM16-31; bits 17-18 = TILECFG, TILEDATA.
  const bool os_avx = (xcr0 & 0x6) == 0x6;
  const bool os_avx512 = os_avx && (xcr0 & 0xE0) == 0xE0;
  const bool os_amx = (xcr0 & 0x60000) == 0x60000;

  // SSE state is mandatory on every x86-64 OS, so SSE4.2 and SHA need no XCR0 check.
  f.sse4_2 = bit(l1.ecx, 20);
  f.avx = os_avx && bit(l1.ecx, 28);
  f.fma = os_avx && bit(l1.ecx, 12);

  if (max_leaf >= 7) {
    const Regs l7 = cpuid(7, 0);
    f.avx2 = os_avx && bit(l7.ebx, 5);
    f.bmi2 = bit(l7.ebx, 8);
    f.sha_ni = bit(l7.ebx, 29);
    f.avx512f = os_avx512 && bit(l7.ebx, 16);
    // Linux drops every AVX-512 extension when the foundation is off
    // (arch/x86/kernel/cpu/cpuid-deps.c); do the same so the two agree.
    f.avx512dq = f.avx512f && bit(l7.ebx, 17);
    f.avx512bw = f.avx512f && bit(l7.ebx, 30);
    f.avx512vl = f.avx512f && bit(l7.ebx, 31);
    f.avx512vbmi = f.avx512f && bit(l7.ecx, 1);
    f.avx512_vnni = f.avx512f && bit(l7.ecx, 11);
    f.amx_bf16 = os_amx && bit(l7.edx, 22);
    f.amx_tile = os_amx && bit(l7.edx, 24);
    f.amx_int8 = os_amx && bit(l7.edx, 25);
    if (l7.eax >= 1) {
      const Regs l7s1 = cpuid(7, 1);
      f.avx_vnni = os_avx && bit(l7s1.eax, 4);
    }
  }
  return f;
}

#else

CpuFeatures read_features() { return {}; }

#endif

}  // namespace

std::vector<std::string_view> CpuFeatures::names() const {
  std::vector<std::string_view> out;
  for (const auto& field : kFeatureFields) {
    if (this->*field.member) out.push_back(field.name);
  }
  return out;
}

bool CpuFeatures::has(std::string_view name) const {
  for (const auto& field : kFeatureFields) {
    if (field.name == name) return this->*field.member;
  }
  return false;
}

std::span<const std::string_view> CpuFeatures::known_names() { return kFeatureNames; }

CpuFeatures detect_cpu_features() {
  static const CpuFeatures cached = read_features();
  return cached;
}

bool request_amx_permission() {
#if defined(TENSORITY_HWDETECT_X86) && defined(__linux__) && defined(SYS_arch_prctl)
  if (!detect_cpu_features().amx_tile) return false;
  constexpr int kArchGetXcompPerm = 0x1022;
  constexpr int kArchReqXcompPerm = 0x1023;
  constexpr unsigned long kXfeatureTileData = 18;
  if (syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureTileData) != 0) return false;
  unsigned long permitted = 0;
  if (syscall(SYS_arch_prctl, kArchGetXcompPerm, &permitted) != 0) return false;
  return (permitted & (1ul << kXfeatureTileData)) != 0;
#else
  // Only Linux is known to gate AMX per process; elsewhere XCR0 is taken at its word.
  return detect_cpu_features().amx_tile;
#endif
}

CpuIdentity detect_cpu_identity() {
  CpuIdentity id;
#if defined(TENSORITY_HWDETECT_X86)
  const Regs l0 = cpuid(0);
  char vendor[12];
  std::memcpy(vendor + 0, &l0.ebx, 4);
  std::memcpy(vendor + 4, &l0.edx, 4);
  std::memcpy(vendor + 8, &l0.ecx, 4);
  id.vendor.assign(vendor, sizeof vendor);

  if (l0.eax >= 1) {
    const std::uint32_t sig = cpuid(1).eax;
    const unsigned base_family = (sig >> 8) & 0xF;
    id.family = base_family == 0xF ? base_family + ((sig >> 20) & 0xFF) : base_family;
    id.model = (sig >> 4) & 0xF;
    // Same rule as the Linux kernel, so the numbers match /proc/cpuinfo.
    if (id.family >= 6) id.model += ((sig >> 16) & 0xF) << 4;
    id.stepping = sig & 0xF;
  }

  if (cpuid(0x80000000u).eax >= 0x80000004u) {
    char brand[48];
    for (std::uint32_t i = 0; i < 3; ++i) {
      const Regs r = cpuid(0x80000002u + i);
      std::memcpy(brand + 16 * i + 0, &r.eax, 4);
      std::memcpy(brand + 16 * i + 4, &r.ebx, 4);
      std::memcpy(brand + 16 * i + 8, &r.ecx, 4);
      std::memcpy(brand + 16 * i + 12, &r.edx, 4);
    }
    std::string_view s(brand, static_cast<std::size_t>(std::find(brand, brand + sizeof brand, '\0') - brand));
    const auto first = s.find_first_not_of(' ');
    if (first != std::string_view::npos) {
      s.remove_prefix(first);
      s.remove_suffix(s.size() - 1 - s.find_last_not_of(' '));
      id.brand.assign(s);
    }
  }
#endif
  return id;
}

}  // namespace tensority::hwdetect
