#pragma once
// A 32-byte hash from known-answer hex; a malformed entry fails the calling test.
#include <gtest/gtest.h>

#include <string>

#include "tensority/core/hex.hpp"
#include "tensority/core/types.hpp"

namespace tensority::test {

inline core::Hash hash_of(const std::string& hex) {
  auto h = core::hash_from_hex(hex);
  EXPECT_TRUE(h) << h.error();
  return h ? *h : core::Hash{};
}

}  // namespace tensority::test
