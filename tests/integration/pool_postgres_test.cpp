// Two `tensority pool` instances sharing one PostgreSQL database, every part real: a regtest
// node whose coinbase pays the pool wallet, a throwaway PostgreSQL server, and one
// `tensority mine` on each instance. The database is what ties them together: pool-wide
// hashrate and miners on both APIs, one instance (the lease holder) settling blocks and paying,
// an instance id that a third process cannot take while it is held, and maintenance that
// moves to the survivor when the holder is killed with SIGKILL (its leases then lapse, 30 s).
#include <array>
#include <csignal>
#include <cstdio>
#include <set>

#include <gtest/gtest.h>

#include "miner_harness.hpp"
#include "node_harness.hpp"
#include "pool_harness.hpp"
#include "postgres.hpp"
#include "tensority/pool/store.hpp"

namespace tensority::test {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// The settings of pool_e2e_test.cpp (easy shares, a short PPLNS window, payouts every 2 s of
// any balance above 1 BTM) on a shared database, as instance `instance`.
std::vector<std::string> pool_args(const NodeProcess& node, const std::string& database, unsigned instance,
                                   const std::filesystem::path& data_dir, const std::string& keystore) {
  return {"--node", net::to_string(node.url()), "--database", database, "--instance-id", std::to_string(instance),
          "--data-dir", data_dir.string(), "--payout-keystore", keystore, "--payout-interval", "2",
          "--payout-minimum", "1", "--start-difficulty", "16", "--min-difficulty", "4", "--pplns-window", "20",
          "--check-threads", "1", "--stratum-port", "0"};
}

std::string last_line(std::string text) {
  while (!text.empty() && text.back() == '\n') text.pop_back();
  const auto newline = text.rfind('\n');
  return newline == std::string::npos ? text : text.substr(newline + 1);
}

// Prints the time since the test began at each stage: when a run is slow, this says where.
class Progress {
 public:
  void operator()(const char* stage) const {
    std::fprintf(stderr, "pool-postgres: %5.1f s  %s\n", std::chrono::duration<double>(Clock::now() - start_).count(),
                 stage);
  }

 private:
  Clock::time_point start_ = Clock::now();
};

bool is_maintainer(const PoolProcess& pool) {
  const json j = pool.get("/v1/pool");
  return j.is_object() && j["maintainer"].is_boolean() && j["maintainer"].get<bool>();
}

TEST(PoolPostgres, TwoInstancesShareOneDatabaseAndHandOverMaintenance) {
  const auto& pg = PostgresServer::shared();
  if (pg.server == nullptr) {
    if (pg.skip) GTEST_SKIP() << pg.why;
    FAIL() << pg.why;
  }
  const Progress progress;
  const std::string database = pg.server->fresh_database();

  TempDir dir("pool-pg");
  std::filesystem::create_directories(dir.path / "node");
  const std::string keystore = (dir.path / "pool-wallet.json").string();
  const std::string pool_address = make_pool_keystore(keystore);
  NodeProcess node(dir.path / "node", {"--mining-address", pool_address});

  // Two instances, one key store, one database. Each is started only when the one before it
  // listens, so instance 0 takes the maintenance lease first (not asserted: either may hold it).
  std::array<std::unique_ptr<PoolProcess>, 2> pools;
  for (unsigned i = 0; i < 2; ++i) {
    const auto name = "pool" + std::to_string(i);
    pools[i] = std::make_unique<PoolProcess>(dir.path / (name + ".log"),
                                             pool_args(node, database, i, dir.path / name, keystore));
  }
  const std::array<std::string, 2> addresses = {regtest_address(31), regtest_address(32)};
  std::array<std::unique_ptr<MinerProcess>, 2> miners;
  for (unsigned i = 0; i < 2; ++i) {
    miners[i] = start_pool_miner(dir.path / ("miner" + std::to_string(i) + ".log"), pools[i]->stratum_url(),
                            addresses[i] + ".rig" + std::to_string(i));
  }

  progress("both instances and their miners started");

  // A third process claiming instance id 0 while the first holds it. It waits out the lease's
  // time to live (in case the holder died without letting go) and then gives up; it runs in
  // the background while the checks below go on.
  const auto intruder_started = Clock::now();
  Process intruder({TENSORITY_BIN, "pool", "--stratum-bind", "127.0.0.1", "--api-port", "0", "--node",
                    net::to_string(node.url()), "--database", database, "--instance-id", "0", "--data-dir",
                    (dir.path / "pool-intruder").string(), "--payout-keystore", keystore, "--stratum-port", "0",
                    "--check-threads", "1"},
                   (dir.path / "intruder.log").string());

  // Both instances accept shares, and each sees the pool as a whole: both miners, whichever
  // instance took their shares (the stats come from the shared database).
  for (unsigned i = 0; i < 2; ++i) {
    const json stats = pools[i]->wait_for(
        "/v1/pool",
        [](const json& j) { return j["shares"]["accepted"].get<std::uint64_t>() > 0 && j["miners"].get<int>() == 2; },
        90s);
    ASSERT_TRUE(stats.is_object()) << pools[i]->process().own_log();
    EXPECT_GT(stats["shares"]["accepted"].get<std::uint64_t>(), 0u) << "instance " << i;
    EXPECT_EQ(stats["miners"].get<int>(), 2) << "instance " << i << ": " << stats.dump();
    EXPECT_EQ(stats["workers"].get<int>(), 2) << "instance " << i;
    EXPECT_EQ(stats["store"], "postgresql");
    EXPECT_EQ(stats["instance"].get<unsigned>(), i);
    EXPECT_GT(stats["hashrate"]["1m"].get<double>(), 0.0);
    EXPECT_EQ(stats["shares"]["wrong_result"].get<std::uint64_t>(), 0u);
  }
  // Each instance has one miner of its own, so the other miner's address, hashrate and worker
  // can only have come from the database the instances share.
  for (unsigned i = 0; i < 2; ++i) {
    const std::string& other = addresses[1 - i];
    const json m = pools[i]->get("/v1/miner?address=" + other);
    ASSERT_TRUE(m.is_object()) << "instance " << i;
    EXPECT_GT(m["hashrate"]["1h"].get<double>(), 0.0) << "instance " << i << ": " << m.dump();
    ASSERT_EQ(m["workers"].size(), 1u) << "instance " << i << ": " << m.dump();
    EXPECT_EQ(m["workers"][0]["worker"], "rig" + std::to_string(1 - i));
    EXPECT_FALSE(m["workers"][0]["online"].get<bool>()) << "its session is on the other instance";
  }

  progress("both instances accept shares and see both miners");

  // Exactly one maintainer: the holder of the "maintenance" lease.
  const auto lead_deadline = Clock::now() + 20s;
  while (!is_maintainer(*pools[0]) && !is_maintainer(*pools[1]) && Clock::now() < lead_deadline) {
    std::this_thread::sleep_for(200ms);
  }
  const bool first_leads = is_maintainer(*pools[0]);
  const bool second_leads = is_maintainer(*pools[1]);
  ASSERT_NE(first_leads, second_leads) << "maintainer flags: " << first_leads << " " << second_leads;
  const unsigned leader = first_leads ? 0 : 1, follower = 1 - leader;

  // Blocks found through both instances (whoever found them, they are in the one database).
  std::set<unsigned> finders;
  const auto found_deadline = Clock::now() + 60s;
  while (finders.size() < 2 && Clock::now() < found_deadline) {
    const json blocks = pools[follower]->get("/v1/blocks?limit=1000");
    if (blocks.is_object()) {
      for (const auto& b : blocks["blocks"]) finders.insert(b["instance"].get<unsigned>());
    }
    if (finders.size() < 2) std::this_thread::sleep_for(500ms);
  }
  EXPECT_EQ(finders, (std::set<unsigned>{0, 1})) << "blocks should come through both instances";
  progress("blocks found through both instances");

  // The maintainer matures them once they are 100 blocks deep. The node's own `generate`
  // (paying an address outside the pool) helps bury them: two CPU miners alone take minutes on
  // a busy machine. The pool's miners keep finding blocks meanwhile; when one of theirs takes
  // the height `generate` was working on, that call ends early ("stored on a side chain"),
  // which is harmless: the next call builds on the new tip.
  json matured;
  const std::string outsider = regtest_address(99);
  const auto matured_deadline = Clock::now() + 120s;
  while (Clock::now() < matured_deadline) {
    matured = pools[follower]->get("/v1/blocks?status=matured");
    if (matured.is_object() && !matured["blocks"].empty()) break;
    (void)node.post("generate", json{{"count", 10}, {"address", outsider}}.dump());
  }
  ASSERT_TRUE(matured.is_object() && !matured["blocks"].empty()) << pools[leader]->process().own_log();
  progress("blocks matured");
  EXPECT_FALSE(is_maintainer(*pools[follower])) << "the lease holder did not change";

  // The intruder gives up: exit status 1, one line naming the conflict, and not before it
  // waited out the lease (30 s).
  const auto intruder_deadline = intruder_started + 70s;
  while (!intruder.exited() && Clock::now() < intruder_deadline) std::this_thread::sleep_for(200ms);
  ASSERT_TRUE(intruder.exited()) << "a third instance 0 kept running: " << intruder.own_log();
  const auto waited = Clock::now() - intruder_started;
  progress("the third instance 0 gave up");
  EXPECT_EQ(intruder.wait(), 1);
  const std::string refusal = last_line(intruder.own_log());
  EXPECT_EQ(refusal.rfind("tensority: failed: ", 0), 0u) << refusal;
  EXPECT_NE(refusal.find("in use by another pool"), std::string::npos) << refusal;
  EXPECT_GE(waited, 30s) << "it should wait out the lease before giving up";
  EXPECT_FALSE(pools[0]->process().exited()) << "the holder of instance id 0 is unharmed";

  // kill -9 the maintainer: its leases lapse after 30 s and the survivor takes over. Its
  // miner keeps mining meanwhile, so the survivor inherits the blocks that matured unsettled
  // and a wallet of many coinbase outputs to join before and while it pays.
  pools[leader]->process().signal(SIGKILL);
  EXPECT_EQ(pools[leader]->process().wait(), 128 + SIGKILL);
  const std::int64_t killed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
  const auto killed_at = Clock::now();
  const json took_over =
      pools[follower]->wait_for("/v1/pool", [](const json& j) { return j["maintainer"].get<bool>(); }, 45s);
  ASSERT_TRUE(took_over.is_object() && took_over["maintainer"].get<bool>()) << pools[follower]->process().own_log();
  const auto takeover = Clock::now() - killed_at;
  EXPECT_LE(takeover, 40s);
  EXPECT_NE(pools[follower]->process().log().find("this instance now settles blocks and makes payouts"),
            std::string::npos);
  progress("the survivor took over maintenance");

  // The survivor pays: a payout it made after the kill, confirmed on chain.
  const json paid = pools[follower]->wait_for(
      "/v1/payments?limit=1000",
      [killed_ms](const json& j) {
        for (const auto& p : j["payments"]) {
          if (p["status"] == "confirmed" && p["created_ms"].get<std::int64_t>() >= killed_ms) return true;
        }
        return false;
      },
      150s);
  bool confirmed_after_kill = false;
  for (const auto& p : paid["payments"]) {
    const bool after_kill = p["created_ms"].get<std::int64_t>() >= killed_ms;
    confirmed_after_kill = confirmed_after_kill || (p["status"] == "confirmed" && after_kill);
  }
  EXPECT_TRUE(confirmed_after_kill) << paid.dump() << "\n" << pools[follower]->process().own_log();

  progress("the survivor's payout confirmed");

  // Clean stop of everything still running.
  std::uint64_t accepted = 0;
  for (auto& m : miners) accepted += stop_miner(*m);
  pools[follower]->process().signal(SIGTERM);
  EXPECT_EQ(pools[follower]->process().wait(), 0);
  node.process().signal(SIGTERM);
  EXPECT_EQ(node.process().wait(), 0);

  // Every share a miner was told was accepted is in the one database (the killed instance may
  // have committed a few whose answer never reached its miner), and no transaction twice.
  auto store = pool::Store::open(database);
  ASSERT_TRUE(store.ok()) << store.error();
  auto totals = store.value()->totals_since(0);
  ASSERT_TRUE(totals.ok()) << totals.error();
  std::uint64_t stored = 0;
  for (const auto& t : *totals) stored += t.shares;
  EXPECT_GE(stored, accepted);
  EXPECT_LE(stored, accepted + 8);
  auto payouts = store.value()->payouts(std::nullopt, 10'000);
  ASSERT_TRUE(payouts.ok()) << payouts.error();
  std::set<std::string> tx_ids;
  for (const auto& p : *payouts) {
    if (!p.tx_id.empty()) {
      EXPECT_TRUE(tx_ids.insert(p.tx_id).second) << "transaction " << p.tx_id << " recorded twice";
    }
  }
}

}  // namespace
}  // namespace tensority::test
