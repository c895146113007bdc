#include "tensority/core/matrix_cache.hpp"

#include <gtest/gtest.h>

#include <cstring>

#include "tensority/core/hex.hpp"
#include "tensority/core/sha3.hpp"
#include "test_hex.hpp"
#include "vectors.hpp"

namespace tensority::core {
namespace {

using test::hash_of;

std::string bytes_hex(const std::int8_t* p, std::size_t n) {
  return to_hex(std::span(reinterpret_cast<const std::uint8_t*>(p), n));
}

TEST(MatrixCache, FirstWordOfEveryChunkMatchesUpstreamSeedTest) {
  const auto& section = test::vectors()["seed_cache_first_words"]["vectors"];
  ASSERT_EQ(section.size(), 3u);
  for (const auto& v : section) {
    const MatrixCache cache(hash_of(v["seed"]));
    std::string got;
    for (std::size_t c = 0; c < kChunkCount; ++c) got += bytes_hex(cache.matrix(2 * c), 4);
    EXPECT_EQ(got, v["first_word_of_each_chunk_le_hex"].get<std::string>()) << v["seed"];
  }
}

TEST(MatrixCache, IntermediatesLayoutAndWholeCacheHash) {
  const auto& section = test::vectors()["intermediates"]["vectors"];
  ASSERT_EQ(section.size(), 3u);
  for (const auto& v : section) {
    const Hash seed = hash_of(v["seed"]);
    const auto e = extended_seed(seed);
    EXPECT_EQ(to_hex(e), v["extended_seed_128"].get<std::string>());
    const MatrixCache cache(seed);
    EXPECT_EQ(bytes_hex(cache.matrix(0), 64), v["matrix0_first64"].get<std::string>());
    EXPECT_EQ(bytes_hex(cache.matrix(1), 64), v["matrix1_first64"].get<std::string>());
    EXPECT_EQ(bytes_hex(cache.matrix(255) + kMatrixBytes - 64, 64),
              v["matrix255_last64"].get<std::string>());
    const auto all = cache.bytes();
    EXPECT_EQ(to_hex(sha3_256(std::span(reinterpret_cast<const std::uint8_t*>(all.data()), all.size()))),
              v["sha3_of_all_256_matrices"].get<std::string>());
  }
}

TEST(MatrixCache, ReportsEveryChunkInOrder) {
  std::vector<std::int8_t> out(kCacheBytes);
  std::vector<std::size_t> seen;
  build_cache(Hash{}, out, [&](std::size_t c) { seen.push_back(c); });
  ASSERT_EQ(seen.size(), kChunkCount);
  for (std::size_t c = 0; c < kChunkCount; ++c) EXPECT_EQ(seen[c], c);
}

TEST(MatrixCache, RejectsWrongOutputSize) {
  std::vector<std::int8_t> small(kCacheBytes - 1);
  EXPECT_THROW(build_cache(Hash{}, small), std::invalid_argument);
}

}  // namespace
}  // namespace tensority::core
