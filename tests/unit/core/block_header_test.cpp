#include "tensority/core/block_header.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "tensority/core/hex.hpp"

namespace tensority::core {
namespace {

// Spec section 5 / 9 and node.md appendix A.
constexpr const char* kMerkleRoot = "58e45ceb675a0b3d7ad3ab9d4288048789de8194e9766b26d8f42fdb624d4390";
constexpr const char* kStatusRoot = "c9c377e5192668bc0a367e4a4764f11e7c725ecced1d7b6a492974fab1b6d5bc";
constexpr const char* kMainnetId = "a75483474799ea1aa6bb910a1a5025b4372bf20bef20f246a2c2dc5e12e8a053";
constexpr const char* kTestnetId = "ce4fe9431cd0225b3a811f8f8ec922f2b07a921bb12a8dddae9a85540072c770";
constexpr std::uint64_t kGenesisNonce = 9253507043297ULL;

std::string zeros_hex(std::size_t bytes) { return std::string(2 * bytes, '0'); }

// Wire bytes from the spec's example; the testnet one differs only in the timestamp and bits
// varints (LEB128 of 1528945000 and 2305843009214532812).
const std::string kMainnetWire = std::string("010100") + zeros_hex(32) + "e08ffbd605" + "40" +
                                 kMerkleRoot + kStatusRoot + "e19f8080a88d02" +
                                 "e8b68480808080801e";
const std::string kTestnetWire = std::string("010100") + zeros_hex(32) + "e8b287d905" + "40" +
                                 kMerkleRoot + kStatusRoot + "e19f8080a88d02" +
                                 "cc99b3808080808020";

std::vector<std::uint8_t> unhex(const std::string& s) {
  auto r = from_hex(s);
  EXPECT_TRUE(r) << r.error();
  return r ? *r : std::vector<std::uint8_t>{};
}

Hash hash(const char* s) {
  auto r = hash_from_hex(s);
  EXPECT_TRUE(r) << r.error();
  return r ? *r : Hash{};
}

BlockHeader genesis(std::uint64_t timestamp, std::uint64_t bits) {
  BlockHeader h;
  h.version = 1;
  h.height = 0;
  h.timestamp = timestamp;
  h.transactions_merkle_root = hash(kMerkleRoot);
  h.transaction_status_hash = hash(kStatusRoot);
  h.nonce = kGenesisNonce;
  h.bits = bits;
  return h;
}

BlockHeader mainnet_genesis() { return genesis(1524549600, 2161727821137910632ULL); }
BlockHeader testnet_genesis() { return genesis(1528945000, 2305843009214532812ULL); }

std::uint64_t test_seed() {
  if (const char* env = std::getenv("TENSORITY_TEST_SEED")) return std::strtoull(env, nullptr, 0);
  return std::random_device{}() * 0x100000001ULL ^ std::random_device{}();
}

std::uint64_t le64_at(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

void expect_rejected(const std::vector<std::uint8_t>& bytes, const std::string& needle) {
  const auto r = parse_header(bytes);
  ASSERT_FALSE(r) << "accepted " << to_hex(bytes);
  EXPECT_NE(r.error().find(needle), std::string::npos) << r.error();
  EXPECT_EQ(r.error().rfind("header: ", 0), 0U) << r.error();
  EXPECT_EQ(r.error().find('\n'), std::string::npos) << r.error();
}

// Replaces the version varint (byte 1, one byte in the genesis wire) with `varint`.
std::vector<std::uint8_t> with_version_bytes(const std::vector<std::uint8_t>& varint) {
  auto wire = unhex(kMainnetWire);
  wire.erase(wire.begin() + 1);
  wire.insert(wire.begin() + 1, varint.begin(), varint.end());
  return wire;
}

TEST(BlockHeader, GenesisIds) {
  EXPECT_EQ(to_hex(block_id(mainnet_genesis())), kMainnetId);
  EXPECT_EQ(to_hex(block_id(testnet_genesis())), kTestnetId);
}

TEST(BlockHeader, IdBodyLayoutPutsBitsBeforeNonce) {
  const BlockHeader h = mainnet_genesis();
  const auto body = id_body(h);
  EXPECT_EQ(le64_at(body.data() + 0), 1U);
  EXPECT_EQ(le64_at(body.data() + 8), 0U);
  EXPECT_EQ(le64_at(body.data() + 48), 1524549600U);
  EXPECT_EQ(to_hex(std::span(body).subspan(56, 32)), kMerkleRoot);
  EXPECT_EQ(to_hex(std::span(body).subspan(88, 32)), kStatusRoot);
  EXPECT_EQ(le64_at(body.data() + 120), 2161727821137910632ULL);
  EXPECT_EQ(le64_at(body.data() + kIdBodyNonceOffset), kGenesisNonce);
  EXPECT_EQ(block_id_from_body(body), block_id(h));
}

TEST(BlockHeader, GenesisWireRoundTrip) {
  struct Case {
    const std::string& wire;
    BlockHeader header;
    const char* id;
  };
  for (const Case& c : {Case{kMainnetWire, mainnet_genesis(), kMainnetId},
                        Case{kTestnetWire, testnet_genesis(), kTestnetId}}) {
    const auto wire = unhex(c.wire);
    EXPECT_EQ(to_hex(serialize_header(c.header)), c.wire);
    const auto parsed = parse_header(wire, true);
    ASSERT_TRUE(parsed) << parsed.error();
    EXPECT_EQ(parsed->header, c.header);
    EXPECT_EQ(parsed->serflag, kSerFlagHeader);
    EXPECT_EQ(parsed->consumed, wire.size());
    EXPECT_EQ(to_hex(block_id(parsed->header)), c.id);
  }
}

TEST(BlockHeader, FullBlockFlagStopsAfterHeader) {
  auto wire = unhex(kMainnetWire);
  const std::size_t header_size = wire.size();
  wire[0] = kSerFlagBlock;
  wire.push_back(0x01);  // transaction count and more would follow
  wire.push_back(0x07);
  const auto parsed = parse_header(wire);
  ASSERT_TRUE(parsed) << parsed.error();
  EXPECT_EQ(parsed->serflag, kSerFlagBlock);
  EXPECT_EQ(parsed->consumed, header_size);
  EXPECT_EQ(serialize_header(parsed->header, kSerFlagBlock),
            std::vector<std::uint8_t>(wire.begin(), wire.begin() + static_cast<long>(header_size)));

  const auto exact = parse_header(wire, true);
  ASSERT_FALSE(exact);
  EXPECT_NE(exact.error().find("2 trailing bytes"), std::string::npos) << exact.error();
}

TEST(BlockHeader, OnlyFlags01And03) {
  auto wire = unhex(kMainnetWire);
  for (int flag = 0; flag < 256; ++flag) {
    wire[0] = static_cast<std::uint8_t>(flag);
    const auto r = parse_header(wire);
    if (flag == 0x01 || flag == 0x03) {
      EXPECT_TRUE(r) << flag << ": " << r.error();
    } else {
      ASSERT_FALSE(r) << flag;
      EXPECT_NE(r.error().find("serialization flag"), std::string::npos) << r.error();
    }
  }
}

TEST(BlockHeader, TruncationAtEveryLength) {
  const auto wire = unhex(kMainnetWire);
  for (std::size_t n = 0; n < wire.size(); ++n) {
    const std::vector<std::uint8_t> prefix(wire.begin(), wire.begin() + static_cast<long>(n));
    SCOPED_TRACE("prefix length " + std::to_string(n));
    expect_rejected(prefix, "truncated at byte " + std::to_string(n));
  }
  expect_rejected({}, "while reading serialization flag");
  expect_rejected({0x01, 0x01}, "truncated at byte 2 while reading height");
}

TEST(BlockHeader, VarintLimits) {
  // 10 bytes whose last byte carries more than the 64th bit.
  expect_rejected(with_version_bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}),
                  "varint overflow at byte 1 while reading version");
  // 11 bytes, even if the value would be small.
  expect_rejected(
      with_version_bytes({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}),
      "varint overflow at byte 1");
  // 2^64-1 and 2^63 decode but are not varint63.
  expect_rejected(with_version_bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}),
                  "version 18446744073709551615 exceeds 2^63-1");
  expect_rejected(with_version_bytes({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}),
                  "version 9223372036854775808 exceeds 2^63-1");
  // 2^63-1 is the largest accepted value.
  const auto max = parse_header(
      with_version_bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}), true);
  ASSERT_TRUE(max) << max.error();
  EXPECT_EQ(max->header.version, 0x7FFFFFFFFFFFFFFFULL);
  // Non-minimal encodings are accepted, as Go's ReadUvarint does.
  const auto padded = parse_header(with_version_bytes({0x81, 0x80, 0x00}), true);
  ASSERT_TRUE(padded) << padded.error();
  EXPECT_EQ(padded->header, mainnet_genesis());
}

TEST(BlockHeader, CommitmentLength) {
  const auto wire = unhex(kMainnetWire);
  const std::size_t length_at = 1 + 1 + 1 + 32 + 5;
  ASSERT_EQ(wire[length_at], 0x40);

  auto short_len = wire;
  short_len[length_at] = 0x3f;
  expect_rejected(short_len, "commitment length 63 at byte 40");

  auto zero_len = wire;
  zero_len[length_at] = 0x00;
  expect_rejected(zero_len, "commitment length 0");

  // 2^31 is over varint31; 2^31-1 passes the range check but the bytes are not there.
  auto huge = wire;
  huge.erase(huge.begin() + static_cast<long>(length_at));
  huge.insert(huge.begin() + static_cast<long>(length_at), {0x80, 0x80, 0x80, 0x80, 0x08});
  expect_rejected(huge, "commitment length 2147483648 exceeds 2^31-1");
  huge[length_at + 4] = 0x07;
  huge[length_at] = 0xff;
  huge[length_at + 1] = 0xff;
  huge[length_at + 2] = 0xff;
  huge[length_at + 3] = 0xff;
  expect_rejected(huge, "while reading commitment");

  // A longer commitment keeps its tail as the suffix and re-emits it.
  auto longer = wire;
  longer[length_at] = 0x43;
  const std::vector<std::uint8_t> tail = {0xaa, 0xbb, 0xcc};
  longer.insert(longer.begin() + static_cast<long>(length_at + 1 + 64), tail.begin(), tail.end());
  const auto parsed = parse_header(longer, true);
  ASSERT_TRUE(parsed) << parsed.error();
  EXPECT_EQ(parsed->header.commitment_suffix, tail);
  EXPECT_EQ(parsed->header.nonce, kGenesisNonce);
  EXPECT_EQ(serialize_header(parsed->header), longer);
}

TEST(BlockHeader, RandomRoundTrip) {
  const std::uint64_t seed = test_seed();
  std::cout << "[ seed ] TENSORITY_TEST_SEED=" << seed << "\n";
  SCOPED_TRACE("TENSORITY_TEST_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  // Spread values over every varint length, up to the varint63 limit.
  auto value = [&rng] { return (rng() >> 1) >> (rng() % 64); };
  auto fill = [&rng](Hash& h) {
    for (auto& b : h) b = static_cast<std::uint8_t>(rng());
  };
  for (int i = 0; i < 5000; ++i) {
    BlockHeader h;
    h.version = value();
    h.height = value();
    fill(h.previous_block_id);
    h.timestamp = value();
    fill(h.transactions_merkle_root);
    fill(h.transaction_status_hash);
    h.nonce = value();
    h.bits = value();
    if (i % 5 == 0) h.commitment_suffix.resize(rng() % 200);
    for (auto& b : h.commitment_suffix) b = static_cast<std::uint8_t>(rng());
    const std::uint8_t flag = (i % 2) ? kSerFlagBlock : kSerFlagHeader;

    const auto wire = serialize_header(h, flag);
    const auto parsed = parse_header(wire, true);
    ASSERT_TRUE(parsed) << parsed.error() << " in " << to_hex(wire);
    ASSERT_EQ(parsed->header, h) << to_hex(wire);
    ASSERT_EQ(parsed->serflag, flag);
    ASSERT_EQ(parsed->consumed, wire.size());
    // The ID depends only on the fields, not on the wire form.
    ASSERT_EQ(block_id(parsed->header), block_id(h));
  }
}

}  // namespace
}  // namespace tensority::core
