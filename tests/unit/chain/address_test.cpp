// Addresses: the genesis output's address (as Bytom explorers show it), BIP 173's own test
// vectors for the bech32 layer, P2WSH, and every way an address can be wrong.
#include <gtest/gtest.h>

#include "tensority/core/hex.hpp"
#include "tensority/chain/address.hpp"

namespace tensority::chain {
namespace {

TEST(Address, GenesisOutputRoundTrips) {
  const auto program = *core::from_hex("00148c9d063ff74ee6d9ffa88d83aeb038068366c4c4");
  const auto addr = program_to_address(program, Network::mainnet);
  ASSERT_TRUE(addr.ok()) << addr.error();
  EXPECT_EQ(*addr, "bm1q3jwsv0lhfmndnlag3kp6avpcq6pkd3xy8e5r88");
  const auto back = address_to_program(*addr, Network::mainnet);
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(*back, program);
  // Upper case is as valid as lower case, mixed is not.
  std::string upper = *addr;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(address_to_program(upper, Network::mainnet).ok());
  std::string mixed = *addr;
  mixed[5] = static_cast<char>(std::toupper(static_cast<unsigned char>(mixed[5])));
  EXPECT_NE(address_to_program(mixed, Network::mainnet).error().find("mixes"), std::string::npos);
}

TEST(Address, Bip173Vectors) {
  for (const char* valid : {"A12UEL5L", "a12uel5l", "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
                            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"}) {
    const auto d = bech32_decode(valid);
    ASSERT_TRUE(d.ok()) << valid << ": " << d.error();
    std::string lower = valid;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_EQ(bech32_encode(d->hrp, d->data5), lower);
  }
  for (const char* invalid : {"pzry9x0s0muk", "1pzry9x0s0muk", "x1b4n0q5v", "li1dgmt3", "A1G7SGD8",
                              "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5"}) {
    EXPECT_FALSE(bech32_decode(invalid).ok()) << invalid;
  }
}

TEST(Address, P2wshAndNetworks) {
  core::wire::Bytes program = {0x00, 0x20};
  for (int i = 0; i < 32; ++i) program.push_back(static_cast<std::uint8_t>(i * 7));
  for (const Network net : {Network::mainnet, Network::testnet, Network::regtest}) {
    const auto addr = program_to_address(program, net);
    ASSERT_TRUE(addr.ok());
    EXPECT_EQ(addr->substr(0, 3), std::string(address_prefix(net)) + "1");
    EXPECT_EQ(*address_to_program(*addr, net), program);
  }
  const auto tm = *program_to_address(program, Network::testnet);
  EXPECT_NE(address_to_program(tm, Network::mainnet).error().find("not this network"), std::string::npos);
  EXPECT_FALSE(program_to_address(core::wire::Bytes{0x51}, Network::mainnet).ok());  // OP_TRUE has no address
  std::string broken = tm;
  broken.back() = broken.back() == 'q' ? 'p' : 'q';
  EXPECT_NE(address_to_program(broken, Network::testnet).error().find("checksum"), std::string::npos);
}

}  // namespace
}  // namespace tensority::chain
