// Every CPU kernel variant against known answers and against the reference implementation
// (core::tensority_reference, core::reference_lane) on random inputs.
#include <gtest/gtest.h>

#include <cctype>
#include <cstring>
#include <map>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "kernel_test_util.hpp"
#include "tensority/core/hex.hpp"
#include "tensority/core/matrix_cache.hpp"
#include "tensority/core/sha3.hpp"
#include "tensority/core/tensority.hpp"
#include "tensority/hwdetect/cpu.hpp"
#include "tensority/kernels/cpu/prepared_cache.hpp"
#include "tensority/kernels/cpu/variant.hpp"

namespace tensority::kernels::cpu {
namespace {

using core::Hash;
using core::kDim;
using core::kMatrixBytes;
using test::hash_of;

// Quad-packed index of row r, column c: sum[g][r][j] holds column 4g+j of row r.
constexpr std::size_t quad_index(std::size_t r, std::size_t c) { return ((c / 4) * kDim + r) * 4 + (c % 4); }

std::shared_ptr<const PreparedCache> prepared_for(const Hash& seed) {
  static std::map<Hash, std::shared_ptr<const PreparedCache>> caches;
  auto& slot = caches[seed];
  if (!slot) slot = PreparedCache::build(seed);
  return slot;
}

const core::MatrixCache& reference_cache_for(const Hash& seed) {
  static std::map<Hash, std::unique_ptr<core::MatrixCache>> caches;
  auto& slot = caches[seed];
  if (!slot) slot = std::make_unique<core::MatrixCache>(seed);
  return *slot;
}

std::unique_ptr<Scratch> new_scratch() { return std::make_unique<Scratch>(); }

// ---------------------------------------------------------------------------------------
// Variant list and lookup.

TEST(Variants, ListIsNonEmptyWithUniqueNamesAndAPortableFallback) {
  const auto list = all_variants();
  ASSERT_FALSE(list.empty());
  std::set<std::string> names;
  for (const Variant* v : list) {
    ASSERT_NE(v, nullptr);
    EXPECT_FALSE(v->name.empty());
    EXPECT_FALSE(v->isa.empty()) << v->name;
    EXPECT_NE(v->supported, nullptr) << v->name;
    EXPECT_NE(v->lane, nullptr) << v->name;
    EXPECT_NE(v->product, nullptr) << v->name;
    EXPECT_TRUE(names.insert(std::string(v->name)).second) << "duplicate variant name " << v->name;
  }
  // A CPU with no optional feature at all still gets a variant, and it is in the list.
  const hwdetect::CpuFeatures none{};
  const Variant& fallback = best_variant(none);
  EXPECT_TRUE(fallback.supported(none)) << fallback.name;
  EXPECT_TRUE(names.count(std::string(fallback.name))) << fallback.name;
}

TEST(Variants, BestIsTheFirstSupportedInListOrder) {
  const auto features = hwdetect::detect_cpu_features();
  const Variant* first = nullptr;
  for (const Variant* v : all_variants()) {
    if (v->supported(features)) {
      first = v;
      break;
    }
  }
  ASSERT_NE(first, nullptr) << "no variant supported on this CPU";
  EXPECT_EQ(&best_variant(features), first);
  std::cout << "[ variant  ] best on this CPU: " << first->name << std::endl;
}

TEST(Variants, FindVariantHonoursSupport) {
  const auto features = hwdetect::detect_cpu_features();
  const hwdetect::CpuFeatures none{};
  for (const Variant* v : all_variants()) {
    EXPECT_EQ(find_variant(v->name, features), v->supported(features) ? v : nullptr) << v->name;
    EXPECT_EQ(find_variant(v->name, none), v->supported(none) ? v : nullptr) << v->name;
  }
  EXPECT_EQ(find_variant("", features), nullptr);
  EXPECT_EQ(find_variant("no_such_kernel", features), nullptr);
}

// ---------------------------------------------------------------------------------------
// PreparedCache: the plain matrices must be the reference cache, and the bias table must
// be -128 * row sum.

TEST(PreparedCache, MatchesReferenceCacheAndBiasTable) {
  test::TestRng rng(0x5052455041524544ULL);
  const Hash seed = rng.hash();
  const auto prepared = PreparedCache::build(seed);
  ASSERT_NE(prepared, nullptr);
  EXPECT_EQ(prepared->seed(), seed);
  EXPECT_GE(prepared->memory_bytes(), core::kCacheBytes);
  const core::MatrixCache reference(seed);
  std::size_t matrix_mismatches = 0;
  std::size_t bias_mismatches = 0;
  for (std::size_t k = 0; k < core::kMatrixCount; ++k) {
    const std::int8_t* m = prepared->matrix(k);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(m) % 64, 0u) << "matrix " << k << " not 64-byte aligned";
    if (std::memcmp(m, reference.matrix(k), kMatrixBytes) != 0) ++matrix_mismatches;
    const std::int32_t* bias = prepared->bias_correction(k);
    for (std::size_t c = 0; c < kDim; ++c) {
      std::int32_t row_sum = 0;
      for (std::size_t t = 0; t < kDim; ++t) row_sum += reference.matrix(k)[c * kDim + t];
      if (bias[c] != -128 * row_sum) {
        if (bias_mismatches == 0) {
          ADD_FAILURE() << "bias_correction(" << k << ")[" << c << "] = " << bias[c] << ", want " << -128 * row_sum;
        }
        ++bias_mismatches;
      }
    }
  }
  EXPECT_EQ(matrix_mismatches, 0u);
  EXPECT_EQ(bias_mismatches, 0u);
}

// ---------------------------------------------------------------------------------------
// Per-variant tests. Variants the CPU lacks are skipped by name.

// The parameter prints as the variant's name (not an address), so test names are stable.
struct VariantParam {
  const Variant* variant;
};
void PrintTo(const VariantParam& p, std::ostream* os) { *os << p.variant->name; }

std::vector<VariantParam> variant_params() {
  std::vector<VariantParam> out;
  for (const Variant* v : all_variants()) out.push_back({v});
  return out;
}

class VariantTest : public ::testing::TestWithParam<VariantParam> {
 protected:
  void SetUp() override {
    const Variant& v = *GetParam().variant;
    if (!v.supported(hwdetect::detect_cpu_features())) {
      GTEST_SKIP() << "variant " << v.name << " skipped: this CPU lacks " << v.isa;
    }
  }
  const Variant& variant() const { return *GetParam().variant; }
};

// Runs the variant's lane on a scratch full of garbage (sum included) and checks, byte by
// byte, that it added exactly the reference lane matrix into the quad-packed sum, up to one
// constant that must be 0 or 0x80 for the whole matrix (the contract in variant.hpp).
// Returns the constant, or -1 after a failure.
int check_lane(const Variant& variant, const PreparedCache& prepared, const core::MatrixCache& reference,
               const Hash& indices, test::TestRng& rng, Scratch& scratch) {
  core::Matrix want{};
  core::reference_lane(reference, indices, want);
  rng.fill(&scratch, sizeof(Scratch));
  std::vector<std::uint8_t> before(scratch.sum, scratch.sum + kMatrixBytes);
  variant.lane(prepared, indices, scratch);

  int offset = -1;
  std::size_t mismatches = 0;
  for (std::size_t r = 0; r < kDim; ++r) {
    for (std::size_t c = 0; c < kDim; ++c) {
      const std::size_t i = quad_index(r, c);
      const auto added = static_cast<std::uint8_t>(scratch.sum[i] - before[i]);
      const auto delta = static_cast<std::uint8_t>(added - static_cast<std::uint8_t>(want[r * kDim + c]));
      if (offset < 0) offset = delta;
      if (delta != offset) {
        if (mismatches < 3) {
          ADD_FAILURE() << variant.name << " lane " << core::to_hex(indices) << ": row " << r << " col " << c
                        << " added " << int{added} << ", reference " << int{want[r * kDim + c]} << " (offset "
                        << int{delta} << " vs " << offset << " at row 0 col 0)";
        }
        ++mismatches;
      }
    }
  }
  EXPECT_EQ(mismatches, 0u) << variant.name << " lane " << core::to_hex(indices);
  EXPECT_TRUE(offset == 0 || offset == 0x80) << variant.name << " adds constant " << offset
                                              << " per lane; only 0 or 0x80 cancel over four lanes";
  return mismatches == 0 ? offset : -1;
}

TEST_P(VariantTest, LaneMatchesReferenceLaneOnRandomIndices) {
  test::TestRng rng(0x4C414E45ULL);
  const Hash seed = rng.hash();
  const auto prepared = PreparedCache::build(seed);
  const core::MatrixCache reference(seed);
  auto scratch = new_scratch();

  std::vector<Hash> index_sets;
  index_sets.push_back(rng.hash());
  Hash edges = rng.hash();  // the extreme matrix indices and a repeated one
  edges[0] = 0;
  edges[1] = 255;
  edges[2] = 255;
  edges[31] = 0;
  index_sets.push_back(edges);

  int first_offset = -2;
  for (const Hash& q : index_sets) {
    const int offset = check_lane(variant(), *prepared, reference, q, rng, *scratch);
    if (offset < 0) continue;
    if (first_offset == -2) first_offset = offset;
    EXPECT_EQ(offset, first_offset) << variant().name << ": the per-lane constant must not depend on the input";
  }
}

// The intermediate lane matrices and lane sum of three upstream vectors (known answers).
TEST_P(VariantTest, LaneMatricesMatchKnownIntermediates) {
  auto scratch = new_scratch();
  test::TestRng rng(0x494E544DULL);
  int bias_seen = -1;  // 0 or 0x80 once known; must be the same for every lane
  for (const auto& v : test::vectors()["intermediates"]["vectors"]) {
    const Hash block = hash_of(v["block_hash"]);
    const auto prepared = prepared_for(hash_of(v["seed"]));
    rng.fill(scratch->sum, sizeof(scratch->sum));
    const std::vector<std::uint8_t> initial(scratch->sum, scratch->sum + kMatrixBytes);
    std::vector<std::uint8_t> running = initial;
    for (std::size_t l = 0; l < core::kLanes; ++l) {
      const Hash q = core::lane_indices(block, l);
      EXPECT_EQ(core::to_hex(q), v["lane_sequences"][l].get<std::string>());
      variant().lane(*prepared, q, *scratch);
      // This lane's contribution, row-major.
      std::vector<std::uint8_t> lane(kMatrixBytes);
      for (std::size_t r = 0; r < kDim; ++r) {
        for (std::size_t c = 0; c < kDim; ++c) {
          const std::size_t i = quad_index(r, c);
          lane[r * kDim + c] = static_cast<std::uint8_t>(scratch->sum[i] - running[i]);
          running[i] = scratch->sum[i];
        }
      }
      const std::string want = v["lane_matrix_sha3"][l].get<std::string>();
      const std::string got_plain = core::to_hex(core::sha3_256(lane));
      for (auto& b : lane) b = static_cast<std::uint8_t>(b - 0x80);
      const std::string got_biased = core::to_hex(core::sha3_256(lane));
      const int bias = got_plain == want ? 0 : got_biased == want ? 0x80 : -1;
      EXPECT_NE(bias, -1) << variant().name << " " << v["block_hash"] << " lane " << l << ": got " << got_plain
                          << " (or " << got_biased << " less 0x80), want " << want;
      if (bias >= 0) {
        if (bias_seen < 0) bias_seen = bias;
        EXPECT_EQ(bias, bias_seen) << variant().name << ": the per-lane constant changed";
      }
    }
    // Over four lanes any allowed constant cancels: the sum is exact.
    std::vector<std::uint8_t> total(kMatrixBytes);
    for (std::size_t r = 0; r < kDim; ++r) {
      for (std::size_t c = 0; c < kDim; ++c) {
        const std::size_t i = quad_index(r, c);
        total[r * kDim + c] = static_cast<std::uint8_t>(scratch->sum[i] - initial[i]);
      }
    }
    EXPECT_EQ(core::to_hex(core::sha3_256(total)), v["sum_matrix_sha3"].get<std::string>())
        << variant().name << " " << v["block_hash"];
  }
}

TEST_P(VariantTest, AllUpstreamVectors) {
  const auto& vectors = test::vectors()["tensority_vectors"];
  ASSERT_EQ(vectors.size(), 11u);
  auto scratch = new_scratch();
  for (const auto& v : vectors) {
    const auto prepared = prepared_for(hash_of(v["seed"]));  // one cache per distinct seed
    const Hash got = hash(variant(), *prepared, hash_of(v["block_hash"]), *scratch);
    EXPECT_EQ(core::to_hex(got), v["result"].get<std::string>()) << variant().name << " " << v["id"];
  }
}

TEST_P(VariantTest, RandomPairsMatchReference) {
  test::TestRng rng(0x52414E44ULL);
  auto scratch = new_scratch();
  for (int pair = 0; pair < 2; ++pair) {
    const Hash seed = rng.hash();
    const Hash block = rng.hash();
    const Hash want = core::tensority_reference(block, reference_cache_for(seed));
    const Hash got = hash(variant(), *prepared_for(seed), block, *scratch);
    EXPECT_EQ(core::to_hex(got), core::to_hex(want))
        << variant().name << " block " << core::to_hex(block) << " seed " << core::to_hex(seed);
  }
}

// Nothing left in the scratch by an earlier call (or by anything else) may leak into a result.
TEST_P(VariantTest, ResultIgnoresGarbageInScratch) {
  test::TestRng rng(0x47415242ULL);
  const auto& vectors = test::vectors()["tensority_vectors"];
  auto scratch = new_scratch();
  for (const std::size_t i : {std::size_t{0}, std::size_t{1}}) {
    const auto& v = vectors[i];
    const auto prepared = prepared_for(hash_of(v["seed"]));
    for (int round = 0; round < 2; ++round) {
      rng.fill(scratch.get(), sizeof(Scratch));
      const Hash got = hash(variant(), *prepared, hash_of(v["block_hash"]), *scratch);
      EXPECT_EQ(core::to_hex(got), v["result"].get<std::string>())
          << variant().name << " " << v["id"] << " round " << round;
    }
  }
}

// product() is for microbenchmarks and has no checkable layout, but must accept any contents
// of state[0] and every matrix index.
TEST_P(VariantTest, ProductAcceptsAnyState) {
  test::TestRng rng(0x50524F44ULL);
  const auto prepared = prepared_for(hash_of(test::vectors()["tensority_vectors"][0]["seed"]));
  auto scratch = new_scratch();
  rng.fill(scratch.get(), sizeof(Scratch));
  variant().product(*prepared, 0, *scratch);
  variant().product(*prepared, 255, *scratch);
  SUCCEED();
}

std::string variant_test_name(const ::testing::TestParamInfo<VariantParam>& info) {
  std::string name(info.param.variant->name);
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Cpu, VariantTest, ::testing::ValuesIn(variant_params()),
                         variant_test_name);

}  // namespace
}  // namespace tensority::kernels::cpu
