// Pool mining end to end: `tensority mine --pool` against tensority-stratum-peer, a scripted
// B3-dialect pool built from examples.json that verifies every share with its own Tensority.
// Login, the known first share of the share vectors, a job switch within a block and to a new
// block, a rejected share, and failover when the primary is killed and comes back.
#include <csignal>
#include <regex>

#include <gtest/gtest.h>

#include "miner_harness.hpp"
#include "temp_dir.hpp"

namespace tensority::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

const std::string kExamples = std::string(TENSORITY_TEST_DATA_DIR) + "/stratum_examples.json";

class PeerProcess {
 public:
  PeerProcess(const std::filesystem::path& log, const std::string& name, std::uint16_t port,
              std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {STRATUM_PEER_BIN, "--examples", kExamples, "--name", name, "--port",
                                     std::to_string(port)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    process_ = std::make_unique<Process>(argv, log.string());
    auto p = process_->wait_for_log(R"(listening on 127\.0\.0\.1:(\d+))", 30s);
    if (!p) throw std::runtime_error(name + " did not start: " + process_->log());
    port_ = static_cast<std::uint16_t>(std::stoi(*p));
  }
  std::uint16_t port() const { return port_; }
  std::string url() const { return "stratum+tcp://127.0.0.1:" + std::to_string(port_); }
  Process& process() { return *process_; }
  // Lines of this process's own log matching the pattern.
  int count(const std::string& pattern) const {
    const std::string text = process_->own_log();
    const std::regex re(pattern);
    return static_cast<int>(std::distance(std::sregex_iterator(text.begin(), text.end(), re), std::sregex_iterator()));
  }
  bool wait_count(const std::string& pattern, int n, std::chrono::seconds limit) const {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      if (count(pattern) >= n) return true;
      std::this_thread::sleep_for(50ms);
    }
    return count(pattern) >= n;
  }

 private:
  std::unique_ptr<Process> process_;
  std::uint16_t port_ = 0;
};

TEST(MinerPool, LoginSharesJobSwitchAndRejects) {
  TempDir dir("miner-pool");
  PeerProcess pool(dir.path / "pool.log", "pool", 0, {"--reject-every", "3", "--switch-after", "3"});
  MinerProcess miner(dir.path / "miner.log",
                     {"--pool", pool.url(), "--user", "antminer_1", "--device", "cpu", "--threads", "1"});
  ASSERT_TRUE(pool.wait_count(R"(login antminer_1)", 1, 30s)) << pool.process().log() << miner.process().log();
  // One device, one thread: the search runs up from the job's start nonce 0x0000200000000000,
  // so the first share is the share vectors' case 1 (…b9), checked by the peer's own hash.
  ASSERT_TRUE(pool.wait_count(R"(submit \d+ \w+ (accepted|rejected))", 1, 60s)) << pool.process().log();
  EXPECT_EQ(pool.count(R"(submit 171567 00002000000000b9 accepted)"), 1) << pool.process().own_log();
  // Three accepted shares make the peer switch the job within the block, three more move it
  // to a new block; every third submit is refused as low difficulty.
  ASSERT_TRUE(pool.wait_count(R"(job \d+ new_block=1)", 2, 120s)) << pool.process().own_log() << miner.process().log();
  ASSERT_TRUE(pool.wait_count(R"(submit \d+ \w+ accepted)", 7, 120s)) << pool.process().own_log();
  EXPECT_GE(pool.count(R"(job \d+ new_block=0)"), 1);

  const json s = miner.wait_summary([](const json& j) { return j["shares"]["rejected"].get<int>() >= 2; }, 30s);
  EXPECT_GE(s["shares"]["accepted"].get<int>(), 7);
  EXPECT_GE(s["shares"]["rejected"].get<int>(), 2);
  EXPECT_EQ(s["shares"]["hardware_errors"].get<int>(), 0);
  EXPECT_EQ(s["upstream"], pool.url());
  EXPECT_EQ(s["share_difficulty"].get<double>() > 0, true);
  // Only the scripted refusals: every third submit.
  const int submits = pool.count(R"(submit \S+ \S+ (accepted|rejected))");  // the peer counts no stale ones
  EXPECT_EQ(pool.count(R"(submit \S+ \S+ rejected)"), submits / 3) << pool.process().own_log();
  // The peer moves to a new block the moment it accepts a share, so shares the miner found
  // in the same search call and sent right behind it are stale; nothing found after the miner
  // saw the new block is sent (the unit test Miner.DropsResultsOfAReplacedBlock checks that).
  // With one thread at ~80 H/s and difficulty 128 a search call holds at most a few shares.
  EXPECT_LE(pool.count(R"(submit 171568 \S+ stale)"), 4) << miner.process().log();
  EXPECT_EQ(pool.count(R"(submit 17156[79] \S+ stale)"), 0) << miner.process().log();
  const int accepted_by_pool = pool.count(R"(submit \S+ \S+ accepted)");
  const int refused_by_pool = pool.count(R"(submit \S+ \S+ rejected)");
  miner.process().signal(SIGINT);
  EXPECT_EQ(miner.process().wait(), 0);
  // The miner's count matches the pool's after Ctrl-C finished what was in flight.
  const std::string log = miner.process().log();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(log, m, std::regex(R"(summary: accepted (\d+) \(blocks \d+\), rejected (\d+))")));
  EXPECT_EQ(std::stoi(m[1]), accepted_by_pool);
  EXPECT_EQ(std::stoi(m[2]), refused_by_pool);
}

TEST(MinerPool, FailsOverWhenThePrimaryDiesAndReturnsWhenItIsBack) {
  TempDir dir("miner-failover");
  auto primary = std::make_unique<PeerProcess>(dir.path / "primary.log", "primary", 0);
  const std::uint16_t primary_port = primary->port();
  const std::string primary_url = primary->url();
  PeerProcess backup(dir.path / "backup.log", "backup", 0);
  MinerProcess miner(dir.path / "miner.log",
                     {"--pool", primary_url, "--pool", backup.url(), "--user", "antminer_1.rig", "--device", "cpu",
                      "--threads", "1", "--retries", "2", "--retry-pause", "0.2", "--probe-interval", "1"});
  ASSERT_TRUE(primary->wait_count(R"(submit \S+ \S+ accepted)", 1, 60s)) << primary->process().log();

  primary->process().signal(SIGKILL);
  primary->process().wait();
  ASSERT_TRUE(backup.wait_count(R"(login antminer_1\.rig)", 1, 30s)) << miner.process().log();
  ASSERT_TRUE(backup.wait_count(R"(submit \S+ \S+ accepted)", 1, 60s)) << backup.process().own_log();
  json s = miner.get("/v1/summary");
  EXPECT_EQ(s["upstream"], backup.url());

  // The primary comes back on its port: the miner probes it and moves back.
  primary = std::make_unique<PeerProcess>(dir.path / "primary.log", "primary", primary_port);
  ASSERT_TRUE(primary->wait_count(R"(login antminer_1\.rig)", 1, 30s)) << miner.process().log();
  s = miner.wait_summary([&](const json& j) { return j["upstream"] == primary_url; }, 30s);
  EXPECT_EQ(s["upstream"], primary_url);
  ASSERT_TRUE(primary->wait_count(R"(submit \S+ \S+ accepted)", 1, 60s)) << primary->process().own_log();
  EXPECT_GE(backup.count(R"(disconnect)"), 1);
  miner.process().signal(SIGTERM);
  EXPECT_EQ(miner.process().wait(), 0);
}

}  // namespace
}  // namespace tensority::test
