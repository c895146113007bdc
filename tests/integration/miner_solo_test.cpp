// Solo mining end to end: a regtest node and `tensority mine --node` as real processes on
// loopback. Blocks must appear on the node's chain, pay the node's mining address, and be
// counted by the miner; Ctrl-C ends the miner cleanly with a summary.
#include <csignal>

#include <gtest/gtest.h>

#include "miner_harness.hpp"
#include "node_harness.hpp"

namespace tensority::test {
namespace {

using json = nlohmann::json;

TEST(MinerSolo, MinesBlocksThatPayTheConfiguredAddress) {
  TempDir dir("miner-solo");
  const std::string address = regtest_address(7);
  std::filesystem::create_directories(dir.path / "node");
  NodeProcess node(dir.path / "node", {"--mining-address", address});
  const std::string node_url = net::to_string(node.url());
  MinerProcess miner(dir.path / "miner.log", {"--node", node_url, "--device", "cpu", "--threads", "1"});

  const json s = miner.wait_summary([](const json& j) { return j["shares"]["blocks"].get<int>() >= 5; },
                                    std::chrono::seconds(120));
  ASSERT_GE(s["shares"]["blocks"].get<int>(), 5) << miner.process().log();
  EXPECT_EQ(s["upstream"], node_url);
  EXPECT_EQ(s["shares"]["hardware_errors"].get<int>(), 0);
  EXPECT_EQ(s["shares"]["rejected"].get<int>(), 0);

  // Every block the miner found is on the chain and its coinbase pays the address.
  const int height = node.ok("get-block-count", json::object())["block_count"].get<int>();
  EXPECT_GE(height, s["shares"]["blocks"].get<int>());
  const json utxos = node.ok("get-unspent-outputs", {{"address", address}});
  ASSERT_TRUE(utxos.is_array());
  int coinbase = 0;
  for (const auto& u : utxos) coinbase += u["is_coinbase"].get<bool>() ? 1 : 0;
  EXPECT_EQ(coinbase, height);

  const json devices = miner.get("/v1/devices");
  ASSERT_EQ(devices["devices"].size(), 1u);
  EXPECT_EQ(devices["devices"][0]["id"], "cpu:0");
  EXPECT_GT(devices["devices"][0]["hashes"].get<std::uint64_t>(), 0u);
  EXPECT_NE(miner.metrics().find("tensority_miner_blocks_total"), std::string::npos);

  miner.process().signal(SIGINT);
  EXPECT_EQ(miner.process().wait(), 0);
  const std::string log = miner.process().log();
  EXPECT_NE(log.find("SIGINT received, stopping"), std::string::npos);
  EXPECT_NE(log.find("summary: accepted"), std::string::npos);
  EXPECT_NE(log.find("accepted"), std::string::npos);
  node.process().signal(SIGTERM);
  EXPECT_EQ(node.process().wait(), 0);
  EXPECT_TRUE(check_chain(dir.path / "node"));
}

}  // namespace
}  // namespace tensority::test
