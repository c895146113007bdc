#pragma once
// Helpers shared by the kernel tests: hex parsing, a replayable random source, and the
// known answers the tests compare against (never the code under test itself).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <random>
#include <set>
#include <string>

#include "tensority/core/block_header.hpp"
#include "tensority/core/hex.hpp"
#include "tensority/core/matrix_cache.hpp"
#include "tensority/core/target.hpp"
#include "tensority/core/tensority.hpp"
#include "tensority/core/types.hpp"
#include "tensority/kernels/hal/device.hpp"
#include "test_hex.hpp"
#include "vectors.hpp"

namespace tensority::test {

// The process-wide random seed: TENSORITY_TEST_SEED if set, else std::random_device. Drawn
// once per process (ctest runs every test in its own process) and printed as
//   [ seed     ] TENSORITY_TEST_SEED=<decimal>
// so a failing run can be replayed with that environment variable.
inline std::uint64_t process_seed() {
  static const std::uint64_t seed = [] {
    std::uint64_t s = 0;
    const char* env = std::getenv("TENSORITY_TEST_SEED");
    if (env != nullptr && *env != '\0') {
      char* end = nullptr;
      s = std::strtoull(env, &end, 0);
      if (end == env || *end != '\0') {
        ADD_FAILURE() << "TENSORITY_TEST_SEED='" << env << "' is not an integer";
      }
    } else {
      std::random_device rd;
      s = (std::uint64_t{rd()} << 32) ^ std::uint64_t{rd()};
    }
    std::cout << "[ seed     ] TENSORITY_TEST_SEED=" << s << std::endl;
    return s;
  }();
  return seed;
}

inline std::string seed_note() {
  return "replay with TENSORITY_TEST_SEED=" + std::to_string(process_seed());
}

// A generator for one test: the process seed mixed with a per-test salt, so tests do not
// share streams. Records the seed as a test property and adds it to every failure message.
class TestRng {
 public:
  explicit TestRng(std::uint64_t salt) : trace_(__FILE__, __LINE__, seed_note()) {
    ::testing::Test::RecordProperty("tensority_test_seed", std::to_string(process_seed()));
    std::seed_seq seq{static_cast<std::uint32_t>(process_seed()), static_cast<std::uint32_t>(process_seed() >> 32),
                      static_cast<std::uint32_t>(salt), static_cast<std::uint32_t>(salt >> 32)};
    engine_.seed(seq);
  }

  std::uint64_t next() { return engine_(); }
  std::uint8_t byte() { return static_cast<std::uint8_t>(engine_() >> 56); }
  core::Hash hash() {
    core::Hash h{};
    for (auto& b : h) b = byte();
    return h;
  }
  void fill(void* p, std::size_t n) {
    auto* bytes = static_cast<std::uint8_t*>(p);
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      const std::uint64_t v = engine_();
      for (std::size_t k = 0; k < 8; ++k) bytes[i + k] = static_cast<std::uint8_t>(v >> (8 * k));
    }
    for (; i < n; ++i) bytes[i] = byte();
  }

 private:
  ::testing::ScopedTrace trace_;
  std::mt19937_64 engine_;
};

// Testnet genesis difficulty: about 1 result in 20 qualifies, so short searches find some.
inline constexpr std::uint64_t kTestnetGenesisBits = 0x20000000000ccccc;

// A header shaped like a testnet block at that difficulty, with random roots and parent.
inline core::BlockHeader testnet_like_header(TestRng& rng) {
  core::BlockHeader h;
  h.version = 1;
  h.height = 1;
  h.previous_block_id = rng.hash();
  h.timestamp = 1528945000;
  h.transactions_merkle_root = rng.hash();
  h.transaction_status_hash = rng.hash();
  h.bits = kTestnetGenesisBits;
  return h;
}

// Checks a search report over [start, start + count) against every nonce of the range hashed
// one by one on `verifier` (a worker already prepared for the job's seed): each report is
// unique, in range, carries the right block ID and result, and a nonce is reported exactly
// when its result meets `bits`. The first find is also checked against the slow reference.
inline void expect_search_report_exact(const kernels::hal::SearchResult& out, const kernels::hal::SearchJob& job,
                                       std::uint64_t start, std::uint64_t count, std::uint64_t bits,
                                       kernels::hal::Worker& verifier) {
  std::set<std::uint64_t> reported;
  for (const kernels::hal::Found& f : out.found) {
    EXPECT_TRUE(reported.insert(f.nonce).second) << "nonce " << f.nonce << " reported twice";
    EXPECT_LT(f.nonce - start, count) << "nonce " << f.nonce << " outside the range";
    EXPECT_EQ(f.block_id, job.block_id(f.nonce)) << "nonce " << f.nonce;
    EXPECT_TRUE(core::check_pow(f.result, bits)) << "nonce " << f.nonce;
  }
  if (!out.found.empty()) {
    const core::MatrixCache reference(job.seed);
    EXPECT_EQ(core::to_hex(out.found[0].result),
              core::to_hex(core::tensority_reference(job.block_id(out.found[0].nonce), reference)));
  }
  std::size_t expected_finds = 0;
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::uint64_t nonce = start + i;
    core::Hash result{};
    ASSERT_TRUE(verifier.hash(job.block_id(nonce), result).ok());
    const bool meets = core::check_pow(result, bits);
    expected_finds += meets ? 1 : 0;
    EXPECT_EQ(reported.count(nonce) == 1, meets) << "nonce " << nonce << " result " << core::to_hex(result);
    for (const kernels::hal::Found& f : out.found) {
      if (f.nonce == nonce) {
        EXPECT_EQ(f.result, result) << "nonce " << nonce;
      }
    }
  }
  EXPECT_EQ(out.found.size(), expected_finds);
  std::cout << "[ search   ] start " << start << ": " << expected_finds << " of " << count
            << " nonces meet the target" << std::endl;
}

}  // namespace tensority::test
