#include <algorithm>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "linux_facts.hpp"
#include "tensority/hwdetect/cpu.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HWDETECT_TEST_X86 1
#include <immintrin.h>
#endif

namespace tensority::hwdetect {
namespace {

using test::cpuinfo_field;
using test::cpuinfo_flags;

// The kernel builds the flags line from cpuid, then clears what it does not
// enable (XCR0) and what depends on something cleared: the same rules the
// detector applies, so the two must agree on every feature, both ways.
TEST(CpuFeatures, AgreeWithProcCpuinfoFlags) {
  const std::set<std::string> flags = cpuinfo_flags();
  if (flags.empty()) GTEST_SKIP() << "no flags line in /proc/cpuinfo (not Linux x86)";
  const CpuFeatures f = detect_cpu_features();
  for (const auto name : CpuFeatures::known_names()) {
    EXPECT_EQ(f.has(name), flags.count(std::string(name)) == 1)
        << name << ": detector says " << f.has(name) << ", /proc/cpuinfo says " << flags.count(std::string(name));
  }
}

TEST(CpuFeatures, NamesListExactlyThePresentFeatures) {
  const CpuFeatures f = detect_cpu_features();
  const auto names = f.names();
  const auto known = CpuFeatures::known_names();
  std::size_t present = 0;
  for (const auto name : known) present += f.has(name) ? 1u : 0u;
  EXPECT_EQ(names.size(), present);
  for (const auto name : names) {
    EXPECT_TRUE(f.has(name)) << name;
    EXPECT_NE(std::find(known.begin(), known.end(), name), known.end()) << name;
  }
  EXPECT_EQ(std::set<std::string_view>(known.begin(), known.end()).size(), known.size()) << "duplicate name";
  EXPECT_FALSE(f.has("avx1024"));
}

TEST(CpuFeatures, ExtensionsImplyTheirBase) {
  const CpuFeatures f = detect_cpu_features();
  if (f.avx2 || f.fma || f.avx_vnni) {
    EXPECT_TRUE(f.avx);
  }
  for (const bool ext : {f.avx512bw, f.avx512vl, f.avx512dq, f.avx512_vnni, f.avx512vbmi}) {
    if (ext) {
      EXPECT_TRUE(f.avx512f);
    }
  }
  if (f.avx512f) {
    EXPECT_TRUE(f.avx2);
  }
}

TEST(CpuFeatures, AmxPermissionFollowsAmxPresence) {
  // Where AMX is absent the request must say no; where it is present a Linux
  // kernel that enabled the tile state in XCR0 also grants it.
  EXPECT_EQ(request_amx_permission(), detect_cpu_features().amx_tile);
}

#if defined(HWDETECT_TEST_X86)

// Inputs through volatile so the compiler cannot fold the vector code away:
// the point is that the reported instructions really execute without SIGILL.
volatile int g_three = 3;
volatile int g_unsigned_byte = 200;
volatile int g_signed_byte = -3;

__attribute__((target("avx2"))) int avx2_lane_sum() {
  const __m256i a = _mm256_set1_epi32(g_three);
  const __m256i b = _mm256_add_epi32(a, _mm256_set1_epi32(g_three));
  return _mm256_extract_epi32(b, 7);
}

__attribute__((target("avx512f,avx512vnni"))) int vnni_dot_sum() {
  const __m512i acc = _mm512_set1_epi32(10);
  const __m512i u = _mm512_set1_epi8(static_cast<char>(g_unsigned_byte));
  const __m512i s = _mm512_set1_epi8(static_cast<char>(g_signed_byte));
  // Summed in scalar code: GCC 12 warns inside _mm512_reduce_add_epi32 (PR 105593).
  int lanes[16];
  _mm512_storeu_si512(lanes, _mm512_dpbusd_epi32(acc, u, s));
  int sum = 0;
  for (const int lane : lanes) sum += lane;
  return sum;
}

TEST(CpuFeatures, ReportedAvx2Executes) {
  if (!detect_cpu_features().avx2) GTEST_SKIP() << "no AVX2 reported";
  EXPECT_EQ(avx2_lane_sum(), 6);
}

TEST(CpuFeatures, ReportedAvx512VnniExecutes) {
  if (!detect_cpu_features().avx512_vnni) GTEST_SKIP() << "no AVX-512 VNNI reported";
  // 16 lanes, each 10 + 4 * (200 * -3): unsigned times signed bytes, as Tensority's int8 kernels use it.
  EXPECT_EQ(vnni_dot_sum(), 16 * (10 + 4 * (200 * -3)));
}

#endif

TEST(CpuIdentity, AgreesWithProcCpuinfo) {
  const auto vendor = cpuinfo_field("vendor_id");
  if (!vendor) GTEST_SKIP() << "no vendor_id in /proc/cpuinfo (not Linux x86)";
  const CpuIdentity id = detect_cpu_identity();
  EXPECT_EQ(id.vendor, *vendor);
  EXPECT_EQ(std::to_string(id.family), cpuinfo_field("cpu family").value_or("?"));
  EXPECT_EQ(std::to_string(id.model), cpuinfo_field("model").value_or("?"));
  EXPECT_EQ(std::to_string(id.stepping), cpuinfo_field("stepping").value_or("?"));
  // The brand string is not compared with "model name": the kernel reads it once at boot, and a
  // hypervisor may answer CPUID differently later (seen: "AMD EPYC" in /proc/cpuinfo, "Oxide
  // Virtual Turin-like Processor" from CPUID on the same VM). It must still be clean text.
  EXPECT_FALSE(id.brand.empty());
  EXPECT_EQ(id.brand.find_first_not_of(" "), 0U) << "leading blanks in '" << id.brand << "'";
  EXPECT_NE(id.brand.back(), ' ') << "trailing blanks in '" << id.brand << "'";
  for (const char c : id.brand) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << "byte " << int(c) << " in the brand";
}

}  // namespace
}  // namespace tensority::hwdetect
