// The pool end to end on loopback, every part real: a regtest node whose coinbase pays the
// pool wallet, `tensority pool`, and two `tensority mine` processes. Shares are accepted,
// blocks found and taken by the node, rewards credited under PPLNS only once the coinbase
// matured, and paid out in transactions the node confirms. Then the same under kill -9 at
// the worst moments: no accepted share lost, no payout made twice.
#include <gtest/gtest.h>

#include <csignal>
#include <map>
#include <set>

#include "miner_harness.hpp"
#include "node_harness.hpp"
#include "pool_harness.hpp"
#include "tensority/pool/store.hpp"

namespace tensority::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

std::vector<std::string> pool_args(const NodeProcess& node, const std::filesystem::path& dir,
                                   const std::string& keystore) {
  return {"--node",
          net::to_string(node.url()),
          "--data-dir",
          dir.string(),
          "--payout-keystore",
          keystore,
          "--payout-interval",
          "2",
          "--payout-minimum",
          "1",
          "--start-difficulty",
          "16",
          "--min-difficulty",
          "4",
          "--pplns-window",
          "20",
          "--check-threads",
          "1",
          "--stratum-port"};
}

std::uint64_t utxo_sum(const NodeProcess& node, const std::string& address) {
  std::uint64_t sum = 0;
  for (const auto& u : node.ok("get-unspent-outputs", {{"address", address}})) sum += u["amount"].get<std::uint64_t>();
  return sum;
}

struct StoreView {
  std::uint64_t shares = 0;
  std::map<std::string, std::uint64_t> paid_on_chain;  // by address, payouts the node confirms
  std::set<std::string> tx_ids;
  std::size_t payouts = 0;
  std::size_t matured = 0;
};

// Opens the pool's database after the pool stopped and compares it with the chain.
StoreView inspect(const std::string& url, const NodeProcess& node) {
  StoreView v;
  auto store = pool::Store::open(url);
  if (!store) {
    ADD_FAILURE() << store.error();
    return v;
  }
  auto& s = *store.value();
  auto totals = s.totals_since(0);
  EXPECT_TRUE(totals.ok());
  if (totals) {
    for (const auto& t : *totals) v.shares += t.shares;
  }
  auto payouts = s.payouts(std::nullopt, 10'000);
  EXPECT_TRUE(payouts.ok());
  if (payouts) {
    v.payouts = payouts->size();
    for (const auto& p : *payouts) {
      if (p.tx_id.empty()) continue;
      EXPECT_TRUE(v.tx_ids.insert(p.tx_id).second) << "transaction " << p.tx_id << " recorded twice";
      const auto reply = node.post("get-transaction", json{{"tx_id", p.tx_id}}.dump());
      const json r = reply.body.empty() ? json() : json::parse(reply.body);
      if (r.value("status", "") == "success" && r["data"]["status"] == "confirmed") {
        for (const auto& i : p.items) v.paid_on_chain[i.address] += i.amount;
      }
    }
  }
  auto matured = s.blocks(pool::BlockStatus::matured, 10'000);
  if (matured) v.matured = matured->size();
  return v;
}

TEST(PoolEndToEnd, PplnsSharesBlocksMaturityAndPayouts) {
  TempDir dir("pool-e2e");
  std::filesystem::create_directories(dir.path / "node");
  const std::string keystore = (dir.path / "pool-wallet.json").string();
  const std::string pool_address = make_pool_keystore(keystore);
  NodeProcess node(dir.path / "node", {"--mining-address", pool_address});
  auto args = pool_args(node, dir.path / "pool", keystore);
  args.push_back("0");
  PoolProcess pool(dir.path / "pool.log", args);

  const std::string m1 = regtest_address(11), m2 = regtest_address(12);
  auto miner1 = start_pool_miner(dir.path / "miner1.log", pool.stratum_url(), m1 + ".rig1");
  auto miner2 = start_pool_miner(dir.path / "miner2.log", pool.stratum_url(), m2 + ".rig2");

  // A block found and accepted while the chain is young: its credits are immature, nothing
  // is spendable yet.
  const json early = pool.wait_for(
      "/v1/blocks?status=immature", [](const json& j) { return !j["blocks"].empty(); }, 120s);
  ASSERT_FALSE(early["blocks"].empty()) << pool.process().own_log();
  const json first = early["blocks"].back();
  EXPECT_EQ(first["scheme"], "pplns");
  EXPECT_GT(first["reward"].get<std::uint64_t>(), 0u);
  {
    std::uint64_t immature = 0, credited = 0;
    for (const auto& a : {m1, m2}) {
      const json m = pool.get("/v1/miner?address=" + a);
      immature += m["immature"].get<std::uint64_t>();
      credited += m["balance"].get<std::uint64_t>() + m["paid"].get<std::uint64_t>();
    }
    // Read after the balances: below height 100 no coinbase can be spendable yet (a block at
    // height h matures when the next block is h + 100), so nothing may be credited.
    const std::uint64_t height = node.ok("get-block-count", json::object())["block_count"].get<std::uint64_t>();
    if (height < 100) {
      EXPECT_GT(immature, 0u);
      EXPECT_EQ(credited, 0u) << "credited before the coinbase matured";
    }
  }

  // Both miners paid in a transaction the node confirmed.
  for (const auto& a : {m1, m2}) {
    const json m = pool.wait_for(
        "/v1/miner?address=" + a,
        [](const json& j) {
          for (const auto& p : j["payments"]) {
            if (p["status"] == "confirmed") return true;
          }
          return false;
        },
        240s);
    ASSERT_TRUE(m.is_object()) << pool.process().own_log();
    bool confirmed = false;
    for (const auto& p : m["payments"]) confirmed = confirmed || p["status"] == "confirmed";
    EXPECT_TRUE(confirmed) << m.dump() << "\n" << pool.process().own_log();
    EXPECT_EQ(m["workers"].size(), 1u);
  }
  const json stats = pool.get("/v1/pool");
  EXPECT_GT(stats["shares"]["accepted"].get<std::uint64_t>(), 0u);
  EXPECT_EQ(stats["shares"]["wrong_result"].get<std::uint64_t>(), 0u);
  EXPECT_GT(stats["hashrate"]["1m"].get<double>(), 0.0);
  EXPECT_EQ(stats["miners"].get<int>(), 2);
  EXPECT_TRUE(stats["maintainer"].get<bool>());
  EXPECT_FALSE(pool.get("/v1/blocks?status=matured")["blocks"].empty());
  EXPECT_EQ(pool.get("/v1/network")["network"], "regtest");
  const std::string metrics = pool.metrics();
  EXPECT_NE(metrics.find("tensority_pool_hashrate{window=\"5m\"}"), std::string::npos);
  EXPECT_NE(metrics.find("tensority_pool_submits_total{verdict=\"accepted\"}"), std::string::npos);

  // The miners count what the pool took from them that meets the network target as blocks.
  std::uint64_t miner_blocks = 0;
  for (MinerProcess* m : {miner1.get(), miner2.get()}) {
    miner_blocks += m->get("/v1/summary")["shares"]["blocks"].get<std::uint64_t>();
  }
  EXPECT_GT(miner_blocks, 0u);

  // Clean stop: every share a miner was told was accepted is in the database.
  const std::uint64_t accepted = stop_miner(*miner1) + stop_miner(*miner2);
  pool.process().signal(SIGTERM);
  EXPECT_EQ(pool.process().wait(), 0);
  const StoreView v = inspect("sqlite:" + (dir.path / "pool" / "pool.db").string(), node);
  // Every share a miner was told was accepted is stored; one whose "OK" was still on its way
  // when a miner stopped waiting may be stored without being counted by the miner.
  EXPECT_GE(v.shares, accepted);
  EXPECT_LE(v.shares, accepted + 2);
  EXPECT_GT(v.matured, 0u);
  // What the chain paid each miner is exactly what the pool recorded as paid.
  for (const auto& a : {m1, m2}) {
    const std::uint64_t recorded = v.paid_on_chain.count(a) ? v.paid_on_chain.at(a) : 0;
    EXPECT_GT(recorded, 0u) << a;
    EXPECT_EQ(utxo_sum(node, a), recorded) << a;
  }
}

// kill -9 three times: while mining, right after a payout transaction was signed and
// recorded (before it was sent), and right after the node took one (before that was
// recorded). After each restart the pool must carry on with nothing lost and nothing paid twice.
TEST(PoolEndToEnd, KillNineLosesNoShareAndPaysNothingTwice) {
  TempDir dir("pool-kill");
  std::filesystem::create_directories(dir.path / "node");
  const std::string keystore = (dir.path / "pool-wallet.json").string();
  const std::string pool_address = make_pool_keystore(keystore);
  NodeProcess node(dir.path / "node", {"--mining-address", pool_address});
  const auto base = pool_args(node, dir.path / "pool", keystore);
  auto args = [&](std::uint16_t port) {
    auto a = base;
    a.push_back(std::to_string(port));
    return a;
  };

  auto pool = std::make_unique<PoolProcess>(dir.path / "pool.log", args(0));
  const std::uint16_t port = pool->stratum_port();
  const std::string m1 = regtest_address(21), m2 = regtest_address(22);
  auto miner1 = start_pool_miner(dir.path / "miner1.log", pool->stratum_url(), m1 + ".a");
  auto miner2 = start_pool_miner(dir.path / "miner2.log", pool->stratum_url(), m2 + ".b");

  // 1. kill -9 in the middle of mining.
  pool->wait_for(
      "/v1/pool", [](const json& j) { return j["shares"]["accepted"].get<int>() >= 20; }, 120s);
  pool->process().signal(SIGKILL);
  EXPECT_EQ(pool->process().wait(), 128 + SIGKILL);

  // 2. Dies right after recording a signed payout, before sending it.
  pool = std::make_unique<PoolProcess>(
      dir.path / "pool.log", args(port),
      std::vector<std::pair<std::string, std::string>>{{"TENSORITY_POOL_CRASH_AT", "payout-signed"}});
  const auto until = std::chrono::steady_clock::now() + 240s;
  while (!pool->process().exited() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(200ms);
  ASSERT_TRUE(pool->process().exited()) << "no payout was signed in time: " << pool->process().own_log();
  EXPECT_EQ(pool->process().wait(), 128 + SIGKILL);

  // 3. Dies right after the node took a payout, before recording that.
  pool = std::make_unique<PoolProcess>(
      dir.path / "pool.log", args(port),
      std::vector<std::pair<std::string, std::string>>{{"TENSORITY_POOL_CRASH_AT", "payout-submitted"}});
  const auto until3 = std::chrono::steady_clock::now() + 240s;
  while (!pool->process().exited() && std::chrono::steady_clock::now() < until3) std::this_thread::sleep_for(200ms);
  ASSERT_TRUE(pool->process().exited()) << "no payout was sent in time: " << pool->process().own_log();
  EXPECT_EQ(pool->process().wait(), 128 + SIGKILL);

  // 4. A normal run settles everything left open.
  pool = std::make_unique<PoolProcess>(dir.path / "pool.log", args(port));
  const json settled = pool->wait_for(
      "/v1/payments?limit=1000",
      [](const json& j) {
        if (j["payments"].size() < 2) return false;
        for (const auto& p : j["payments"]) {
          if (p["status"] != "confirmed" && p["status"] != "failed") return false;
        }
        return true;
      },
      240s);
  ASSERT_GE(settled["payments"].size(), 2u) << pool->process().own_log();
  for (const auto& p : settled["payments"]) EXPECT_EQ(p["status"], "confirmed") << p.dump();
  const std::string log = pool->process().log();
  EXPECT_NE(log.find("sent,"), std::string::npos);

  const std::uint64_t accepted = stop_miner(*miner1) + stop_miner(*miner2);
  pool->process().signal(SIGTERM);
  EXPECT_EQ(pool->process().wait(), 0);

  const StoreView v = inspect("sqlite:" + (dir.path / "pool" / "pool.db").string(), node);
  // Shares answered "OK" were committed first; shares committed whose answer the kill cut
  // off may be more.
  EXPECT_GE(v.shares, accepted);
  EXPECT_LE(v.shares, accepted + 8);
  EXPECT_EQ(v.tx_ids.size(), v.payouts);
  std::uint64_t paid = 0;
  for (const auto& a : {m1, m2}) {
    const std::uint64_t chain = utxo_sum(node, a);
    const std::uint64_t recorded = v.paid_on_chain.count(a) ? v.paid_on_chain.at(a) : 0;
    EXPECT_EQ(chain, recorded) << a << ": the chain paid " << chain << " neu, the pool recorded " << recorded;
    paid += chain;
  }
  EXPECT_GT(paid, 0u);
}

}  // namespace
}  // namespace tensority::test
