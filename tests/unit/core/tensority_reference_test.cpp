#include "tensority/core/tensority.hpp"

#include <gtest/gtest.h>

#include <map>
#include <memory>

#include "tensority/core/hex.hpp"
#include "tensority/core/sha3.hpp"
#include "test_hex.hpp"
#include "vectors.hpp"

namespace tensority::core {
namespace {

using test::hash_of;

const MatrixCache& cache_for(const Hash& seed) {
  static std::map<Hash, std::unique_ptr<MatrixCache>> caches;
  auto& slot = caches[seed];
  if (!slot) slot = std::make_unique<MatrixCache>(seed);
  return *slot;
}

TEST(Reduce, MatchesDefinition) {
  EXPECT_EQ(reduce(0), 0);
  EXPECT_EQ(reduce(5), 5);
  EXPECT_EQ(reduce(-1), -2);     // the first product maps negatives v to v-1
  EXPECT_EQ(reduce(-128), 127);  // ... and wraps -128 to +127
  EXPECT_EQ(reduce(127), 127);
  EXPECT_EQ(reduce(0x1234), static_cast<std::int8_t>(0x34 + 0x12));
  // Only x mod 2^16 matters.
  EXPECT_EQ(reduce(0x7FFF1234), reduce(0x1234));
  EXPECT_EQ(reduce(-0x10000 + 0x1234), reduce(0x1234));
}

TEST(Reference, IntermediatesOfThreeVectors) {
  for (const auto& v : test::vectors()["intermediates"]["vectors"]) {
    const Hash block = hash_of(v["block_hash"]);
    const MatrixCache& cache = cache_for(hash_of(v["seed"]));
    SumMatrix sum{};
    Matrix lane{};
    for (std::size_t l = 0; l < kLanes; ++l) {
      const Hash q = lane_indices(block, l);
      EXPECT_EQ(to_hex(q), v["lane_sequences"][l].get<std::string>());
      reference_lane(cache, q, lane);
      const auto* bytes = reinterpret_cast<const std::uint8_t*>(lane.data());
      EXPECT_EQ(to_hex(sha3_256(std::span(bytes, lane.size()))),
                v["lane_matrix_sha3"][l].get<std::string>());
      for (std::size_t i = 0; i < kMatrixBytes; ++i) sum[i] = static_cast<std::uint8_t>(sum[i] + bytes[i]);
    }
    EXPECT_EQ(to_hex(sha3_256(sum)), v["sum_matrix_sha3"].get<std::string>());
    EXPECT_EQ(to_hex(fnv_fold(sum)), v["fnv_row_256"].get<std::string>());
    EXPECT_EQ(to_hex(finish(sum)), v["result"].get<std::string>());
  }
}

TEST(Reference, AllUpstreamVectors) {
  const auto& vectors = test::vectors()["tensority_vectors"];
  ASSERT_EQ(vectors.size(), 11u);
  for (const auto& v : vectors) {
    const Hash got = tensority_reference(hash_of(v["block_hash"]), cache_for(hash_of(v["seed"])));
    EXPECT_EQ(to_hex(got), v["result"].get<std::string>()) << v["id"];
  }
}

}  // namespace
}  // namespace tensority::core
