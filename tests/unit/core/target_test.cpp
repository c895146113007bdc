#include "tensority/core/target.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "tensority/core/hex.hpp"
#include "vectors.hpp"

namespace tensority::core {
namespace {

using test::vectors;

BigInt dec(const std::string& s) { return BigInt(s); }

const BigInt& two256() {
  static const BigInt v = BigInt(1) << 256;
  return v;
}

// Independent of hash_to_big: build the 32 bytes from a non-negative value < 2^256.
Hash le_bytes(const BigInt& v) {
  Hash h{};
  BigInt x = v;
  for (auto& b : h) {
    b = static_cast<std::uint8_t>(static_cast<unsigned>(x & 0xFF));
    x >>= 8;
  }
  return h;
}

std::uint64_t test_seed() {
  if (const char* env = std::getenv("TENSORITY_TEST_SEED")) return std::strtoull(env, nullptr, 0);
  return std::random_device{}() * 0x100000001ULL ^ std::random_device{}();
}

BigInt random_bits(std::mt19937_64& rng, unsigned nbits) {
  BigInt v;
  for (unsigned i = 0; i < nbits; i += 64) {
    v <<= 64;
    v |= rng();
  }
  const unsigned rounded = (nbits + 63) / 64 * 64;
  return v >> (rounded - nbits);
}

TEST(Target, CompactToBigVectors) {
  const auto& list = vectors().at("difficulty").at("compact_to_big");
  ASSERT_FALSE(list.empty());
  for (const auto& v : list) {
    const auto bits = v.at("bits").get<std::uint64_t>();
    EXPECT_EQ(compact_to_big(bits), dec(v.at("value_dec").get<std::string>()))
        << "bits " << v.at("bits_hex").get<std::string>();
  }
}

TEST(Target, BigToCompactVectors) {
  const auto& list = vectors().at("difficulty").at("big_to_compact");
  ASSERT_FALSE(list.empty());
  for (const auto& v : list) {
    const auto value = v.at("value_dec").get<std::string>();
    EXPECT_EQ(big_to_compact(dec(value)), v.at("bits").get<std::uint64_t>()) << "value " << value;
  }
}

TEST(Target, CalcWorkVectors) {
  const auto& list = vectors().at("difficulty").at("calc_work");
  ASSERT_GE(list.size(), 50U);
  for (const auto& v : list) {
    EXPECT_EQ(calc_work(v.at("bits").get<std::uint64_t>()), dec(v.at("work_dec").get<std::string>()))
        << "bits " << v.at("bits_hex").get<std::string>();
  }
}

TEST(Target, HashToBigVectors) {
  const auto& list = vectors().at("difficulty").at("hash_to_big");
  ASSERT_FALSE(list.empty());
  for (const auto& v : list) {
    const auto hash = hash_from_hex(v.at("hash").get<std::string>());
    ASSERT_TRUE(hash) << hash.error();
    EXPECT_EQ(hash_to_big(*hash), BigInt("0x" + v.at("big_be").get<std::string>()))
        << v.at("hash").get<std::string>();
  }
}

TEST(Target, MainnetGenesisBits) {
  // Spec section 7: 0x1e00000000011b68 is 0x011b68 * 256^27, difficulty 15154807.
  constexpr std::uint64_t kBits = 0x1e00000000011b68ULL;
  EXPECT_EQ(kBits, 2161727821137910632ULL);
  EXPECT_EQ(compact_to_big(kBits), BigInt(0x011b68) << (8 * 27));
  EXPECT_EQ(calc_work(kBits), BigInt(15154807));
  // Testnet: 0x0ccccc * 256^29.
  EXPECT_EQ(compact_to_big(0x20000000000cccccULL), BigInt(0x0ccccc) << (8 * 29));
}

TEST(Target, BigToCompactEdgeCases) {
  // 4-byte magnitude 0xffffff01: a negative value's magnitude rounds up past 3 bytes.
  EXPECT_EQ(big_to_compact(BigInt(0xffffff01ULL)), 0x0400000000ffffffULL);
  EXPECT_EQ(big_to_compact(-BigInt(0xffffff01ULL)), 0x0480000001000000ULL);
  // Exact multiples do not round.
  EXPECT_EQ(big_to_compact(-BigInt(0xffffff00ULL)), 0x0480000000ffffffULL);
  // 256 bytes: the exponent byte wraps to 0.
  EXPECT_EQ(big_to_compact(BigInt(1) << (8 * 255)), 0x0000000000010000ULL);
  // Small values are left-aligned into the 3-byte mantissa.
  EXPECT_EQ(big_to_compact(BigInt(0x12)), 0x0100000000120000ULL);
  EXPECT_EQ(big_to_compact(BigInt(0x1234)), 0x0200000000123400ULL);
}

TEST(Target, Target256FromBitsMatchesBigInt) {
  const std::uint64_t seed = test_seed();
  std::cout << "[ seed ] TENSORITY_TEST_SEED=" << seed << "\n";
  SCOPED_TRACE("TENSORITY_TEST_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (unsigned exponent = 0; exponent < 256; ++exponent) {
    for (int k = 0; k < 40; ++k) {
      std::uint64_t mantissa = rng() & 0x007FFFFFFFFFFFFFULL;
      if (k % 4 == 1) mantissa >>= rng() % 56;  // short mantissas cross limb boundaries
      if (k == 2) mantissa = 0;
      if (k == 3) mantissa = 0x007FFFFFFFFFFFFFULL;
      const std::uint64_t sign = (k % 2) ? 0x0080000000000000ULL : 0;
      const std::uint64_t bits = static_cast<std::uint64_t>(exponent) << 56 | sign | mantissa;
      const Target256 a = Target256::from_bits(bits);
      const Target256 b = Target256::from_big(compact_to_big(bits));
      ASSERT_EQ(a.never, b.never) << std::hex << "bits 0x" << bits;
      ASSERT_EQ(a.limbs, b.limbs) << std::hex << "bits 0x" << bits;
    }
  }
}

TEST(Target, Target256FromBigClampsAndSigns) {
  const BigInt max = two256() - 1;
  for (const BigInt& t : std::vector<BigInt>{max, two256(), BigInt(two256() * 7 + 3)}) {
    const Target256 x = Target256::from_big(t);
    EXPECT_FALSE(x.never);
    for (auto limb : x.limbs) EXPECT_EQ(limb, ~std::uint64_t{0});
    Hash all_ff;
    all_ff.fill(0xFF);
    EXPECT_TRUE(x.met_by(all_ff));
  }
  const Target256 zero = Target256::from_big(BigInt(0));
  EXPECT_FALSE(zero.never);
  EXPECT_TRUE(zero.met_by(Hash{}));
  Hash one{};
  one[0] = 1;
  EXPECT_FALSE(zero.met_by(one));

  const Target256 neg = Target256::from_big(BigInt(-1));
  EXPECT_TRUE(neg.never);
  EXPECT_FALSE(neg.met_by(Hash{}));
  // -0 in compact form decodes to 0, so the all-zero result still qualifies.
  EXPECT_TRUE(check_pow(Hash{}, 0x0080000000000000ULL));
  EXPECT_FALSE(check_pow(Hash{}, 0x0180000000010000ULL));  // -1
  EXPECT_TRUE(check_pow(one, 0x0100000000010000ULL));      // 1 <= 1
}

TEST(Target, MetByMatchesBigIntNearBoundary) {
  const std::uint64_t seed = test_seed();
  std::cout << "[ seed ] TENSORITY_TEST_SEED=" << seed << "\n";
  SCOPED_TRACE("TENSORITY_TEST_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  int checked = 0;
  for (int round = 0; round < 3000; ++round) {
    const unsigned nbits = 1 + static_cast<unsigned>(rng() % 256);
    const BigInt target = random_bits(rng, nbits);
    const Target256 t = Target256::from_big(target);
    ASSERT_FALSE(t.never);

    std::vector<BigInt> candidates = {target, target + 1, target - 1, BigInt(0), two256() - 1};
    // Same upper limbs, random lower ones: exercises the limb-by-limb comparison.
    for (unsigned keep = 64; keep < 256; keep += 64) {
      const BigInt high = (target >> keep) << keep;
      candidates.push_back(high | random_bits(rng, keep));
    }
    // Flip one random bit.
    candidates.push_back(target ^ (BigInt(1) << static_cast<unsigned>(rng() % 256)));
    for (const BigInt& c : candidates) {
      if (c < 0 || c >= two256()) continue;
      const Hash h = le_bytes(c);
      ASSERT_EQ(hash_to_big(h), c);
      ASSERT_EQ(t.met_by(h), c <= target) << "target " << target << " result " << c;
      ++checked;
    }
    // The compact path agrees on real-looking bits.
    const std::uint64_t bits = big_to_compact(target);
    const BigInt decoded = compact_to_big(bits);
    const Hash h = le_bytes(decoded >= two256() ? two256() - 1 : decoded);
    ASSERT_TRUE(check_pow(h, bits));
  }
  EXPECT_GT(checked, 20000);
}

}  // namespace
}  // namespace tensority::core
