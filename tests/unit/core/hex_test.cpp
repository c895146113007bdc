#include "tensority/core/hex.hpp"

#include <gtest/gtest.h>

namespace tensority::core {
namespace {

TEST(Hex, RoundTripsEveryByte) {
  std::vector<std::uint8_t> all(256);
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<std::uint8_t>(i);
  const std::string text = to_hex(all);
  EXPECT_EQ(text.substr(0, 8), "00010203");
  EXPECT_EQ(text.substr(text.size() - 4), "feff");
  auto back = from_hex(text);
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(*back, all);
}

TEST(Hex, AcceptsUpperCase) {
  auto v = from_hex("ABcdEF");
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, (std::vector<std::uint8_t>{0xab, 0xcd, 0xef}));
}

TEST(Hex, RejectsOddLengthAndBadCharacters) {
  auto odd = from_hex("abc");
  ASSERT_FALSE(odd);
  EXPECT_NE(odd.error().find("odd"), std::string::npos);
  auto bad = from_hex("0g");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("'g' at offset 1"), std::string::npos);
  EXPECT_FALSE(from_hex("0x00"));
  EXPECT_FALSE(from_hex(" 00"));
  auto ctl = from_hex(std::string("0\x01", 2));
  ASSERT_FALSE(ctl);
  EXPECT_NE(ctl.error().find("\\x01"), std::string::npos);
}

TEST(Hex, HashNeedsExactly64Digits) {
  EXPECT_TRUE(hash_from_hex(std::string(64, 'a')));
  auto short_hash = hash_from_hex(std::string(62, 'a'));
  ASSERT_FALSE(short_hash);
  EXPECT_NE(short_hash.error().find("got 62"), std::string::npos);
  EXPECT_FALSE(hash_from_hex(std::string(66, 'a')));
  EXPECT_FALSE(hash_from_hex(std::string(63, 'a') + "z"));
}

}  // namespace
TEST(Printable, KeepsPrintableAsciiEscapesTheRestAndCuts) {
  EXPECT_EQ(printable("abc 123"), "abc 123");
  EXPECT_EQ(printable(std::string_view("a\nb\x00\xff", 5)), "a\\x0ab\\x00\\xff");
  EXPECT_EQ(printable("abcdef", 3), "abc...");
  EXPECT_EQ(printable(""), "");
}

}  // namespace tensority::core
