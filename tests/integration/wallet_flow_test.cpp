// `tensority wallet` against a real regtest node: a key, coinbase rewards after maturity,
// a send, a new asset issued from a JSON definition, transferred and retired, each confirmed
// with generate and checked through the node's RPC and the wallet's balance.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>

#include "node_harness.hpp"

namespace tensority::test {
namespace {

using json = nlohmann::json;

class WalletCli {
 public:
  WalletCli(std::filesystem::path keystore, std::string node_url) : keystore_(std::move(keystore)), url_(std::move(node_url)) {}
  // Runs one wallet command with --json; the parsed stdout of a successful run.
  json run(std::vector<std::string> args) {
    std::vector<std::string> argv = {tensority_bin(), "wallet", "--network", "regtest", "--keystore", keystore_.string(),
                                     "--node", url_, "--json"};
    argv.insert(argv.end(), args.begin(), args.end());
    const std::string n = keystore_.stem().string() + "-" + std::to_string(calls_++);
    const auto log = keystore_.parent_path() / ("wallet-" + n + ".log");
    const auto err = keystore_.parent_path() / ("wallet-" + n + ".err");
    Process p(argv, log.string(), err.string());
    const int rc = p.wait();
    const std::string out = p.log();
    json j = json::parse(out, nullptr, false);
    if (rc != 0 || j.is_discarded() || j.is_null()) {
      std::ifstream e(err);
      const std::string err_text((std::istreambuf_iterator<char>(e)), std::istreambuf_iterator<char>());
      ADD_FAILURE() << "wallet " << args[0] << " -> rc " << rc << ": " << out << err_text;
      return json();
    }
    return j;
  }

 private:
  std::filesystem::path keystore_;
  std::string url_;
  int calls_ = 0;
};

std::uint64_t confirmed(const json& balance, const std::string& asset) {
  for (const auto& a : balance["assets"]) {
    if (a["asset_id"] == asset) return a["confirmed"];
  }
  return 0;
}

TEST(WalletFlow, SendIssueTransferAndRetireAgainstARealNode) {
  TempDir dir("wallet");
  const std::string btm(64, 'f');
  NodeProcess node(dir.path, {});
  const std::string url = net::to_string(node.url());
  WalletCli alice(dir.path / "alice.json", url), bob(dir.path / "bob.json", url);
  const std::string a_addr = alice.run({"create-key"})["address"];
  const std::string b_addr = bob.run({"create-key"})["address"];
  ASSERT_EQ(a_addr.rfind("sm1", 0), 0u);
  EXPECT_EQ(std::filesystem::status(dir.path / "alice.json").permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);

  // 101 blocks to alice: the coinbases of heights 1 and 2 may be spent in block 102.
  node.ok("generate", {{"count", 101}, {"address", a_addr}});
  const json bal = alice.run({"balance"});
  EXPECT_EQ(confirmed(bal, btm), 2 * 41'250'000'000ULL);

  const json sent = alice.run({"send", "--to", b_addr, "--amount", "1000000000"});
  ASSERT_TRUE(sent.contains("tx_id"));
  EXPECT_GT(sent["fee"].get<std::uint64_t>(), sent["gas_used"].get<std::uint64_t>() * 200 - 1);
  EXPECT_EQ(node.ok("get-transaction", {{"tx_id", sent["tx_id"]}})["status"], "mempool");
  node.ok("generate", {{"count", 1}, {"address", a_addr}});
  EXPECT_EQ(node.ok("get-transaction", {{"tx_id", sent["tx_id"]}})["status"], "confirmed");
  EXPECT_EQ(confirmed(bob.run({"balance"}), btm), 1'000'000'000ULL);

  // A new asset, issued to alice, 300 of it sent to bob, 100 of those retired by bob.
  const auto def = dir.path / "gold.json";
  std::ofstream(def) << R"({"name":"Gold","symbol":"GOLD","decimals":8,"description":"test asset"})";
  const json issued = alice.run({"issue", "--definition", def.string(), "--amount", "1000"});
  const std::string gold = issued["asset_id"];
  node.ok("generate", {{"count", 1}, {"address", a_addr}});
  EXPECT_EQ(confirmed(alice.run({"balance"}), gold), 1000u);
  alice.run({"send", "--to", b_addr, "--amount", "300", "--asset", gold});
  node.ok("generate", {{"count", 1}, {"address", a_addr}});
  EXPECT_EQ(confirmed(alice.run({"balance"}), gold), 700u);
  EXPECT_EQ(confirmed(bob.run({"balance"}), gold), 300u);
  const json retired = bob.run({"retire", "--amount", "100", "--asset", gold, "--data", "cafe"});
  node.ok("generate", {{"count", 1}, {"address", a_addr}});
  EXPECT_EQ(confirmed(bob.run({"balance"}), gold), 200u);
  const json block = node.ok("get-block", {{"block_height", 105}});
  bool saw_retire = false;
  for (const auto& tx : block["transactions"]) {
    for (const auto& out : tx["outputs"]) saw_retire = saw_retire || (out["type"] == "retire" && out["asset_id"] == gold);
    if (tx["id"] == retired["tx_id"]) {
      EXPECT_FALSE(tx["status_fail"].get<bool>());
    }
  }
  EXPECT_TRUE(saw_retire);
  node.process().signal(SIGTERM);
  node.process().wait();
  EXPECT_TRUE(check_chain(dir.path));
}

}  // namespace
}  // namespace tensority::test
