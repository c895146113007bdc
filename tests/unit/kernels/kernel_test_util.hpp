#pragma once
// Helpers shared by the kernel tests: hex parsing, a replayable random source, and the
// known answers the tests compare against (never the code under test itself).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <random>
#include <string>

#include "tensority/core/hex.hpp"
#include "tensority/core/types.hpp"
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

}  // namespace tensority::test
