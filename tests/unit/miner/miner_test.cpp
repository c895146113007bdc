// The miner's own parts: hash rate windows, nonce slices, the get-work decoder, failover
// order, the API's text forms, and the whole miner hashing synthetic work on the real CPU
// device.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "vectors.hpp"

#include "tensority/core/hex.hpp"
#include "tensority/kernels/cpu/backend.hpp"
#include "tensority/kernels/hal/registry.hpp"
#include "tensority/miner/api.hpp"
#include "tensority/miner/benchmark_session.hpp"
#include "tensority/miner/hashrate.hpp"
#include "tensority/miner/miner.hpp"
#include "tensority/miner/node_session.hpp"
#include "tensority/miner/options.hpp"
#include "tensority/miner/upstreams.hpp"

namespace tensority::miner {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;
__extension__ using u128 = unsigned __int128;

const json& examples() { return test::stratum_examples(); }

TEST(Hashrate, WindowsAreNaUntilCovered) {
  HashrateMeter m;
  const auto t0 = Clock::now();
  for (int s = 0; s <= 9; ++s) m.sample(static_cast<std::uint64_t>(s) * 100, t0 + std::chrono::seconds(s));
  EXPECT_FALSE(m.rate(10s, t0 + 9s).has_value());
  m.sample(1000, t0 + 10s);
  ASSERT_TRUE(m.rate(10s, t0 + 10s).has_value());
  EXPECT_DOUBLE_EQ(*m.rate(10s, t0 + 10s), 100.0);
  EXPECT_FALSE(m.rate(60s, t0 + 10s).has_value());
  EXPECT_FALSE(m.rate(900s, t0 + 10s).has_value());
}

TEST(Hashrate, WindowsSeeOnlyTheirSpan) {
  HashrateMeter m;
  const auto t0 = Clock::now();
  // 60 s at 10 H/s, then 10 s at 100 H/s.
  std::uint64_t total = 0;
  for (int s = 0; s <= 60; ++s) {
    m.sample(total, t0 + std::chrono::seconds(s));
    total += 10;
  }
  total -= 10;
  for (int s = 61; s <= 70; ++s) {
    total += 100;
    m.sample(total, t0 + std::chrono::seconds(s));
  }
  const auto now = t0 + 70s;
  EXPECT_DOUBLE_EQ(*m.rate(10s, now), 100.0);
  EXPECT_NEAR(*m.rate(60s, now), (50 * 10 + 10 * 100) / 60.0, 1e-9);
  EXPECT_FALSE(m.rate(900s, now).has_value());
}

TEST(Hashrate, FifteenMinutesFitInTheRing) {
  HashrateMeter m;
  const auto t0 = Clock::now();
  for (int s = 0; s <= 1000; ++s) m.sample(static_cast<std::uint64_t>(s) * 7, t0 + std::chrono::seconds(s));
  ASSERT_TRUE(m.rate(900s, t0 + 1000s).has_value());
  EXPECT_DOUBLE_EQ(*m.rate(900s, t0 + 1000s), 7.0);
  EXPECT_EQ(format_rate(std::nullopt), "n/a");
  EXPECT_EQ(format_rate(171.25), "171.2 H/s");
  EXPECT_EQ(format_rate(230000.0), "230.00 kH/s");
}

TEST(NonceSlice, DisjointAndCovering) {
  Work w;
  w.nonce_start = ~std::uint64_t{0} - 5;  // wraps
  w.nonce_span = 0;
  for (std::size_t n : {1u, 2u, 3u, 7u}) {
    u128 covered = 0;
    std::uint64_t expect_start = w.nonce_start;
    for (std::size_t i = 0; i < n; ++i) {
      const NonceSlice s = nonce_slice(w, i, n);
      EXPECT_EQ(s.start, expect_start) << n << " " << i;
      expect_start = static_cast<std::uint64_t>(s.start + s.length);
      covered += s.length;
    }
    EXPECT_TRUE(covered == (u128{1} << 64)) << n;
  }
  w.nonce_start = 0x0000200000000000ULL;
  w.nonce_span = std::uint64_t{1} << 32;
  const NonceSlice a = nonce_slice(w, 0, 2), b = nonce_slice(w, 1, 2);
  EXPECT_EQ(a.start, 0x0000200000000000ULL);
  EXPECT_EQ(b.start, 0x0000200080000000ULL);
  EXPECT_TRUE(a.length + b.length == (u128{1} << 32));
}

TEST(NodeSession, DecodesTheCapturedGetWork) {
  const json ex = examples()["node_rpc"]["get_work"];
  const auto work = noderpc::parse_get_work_reply(ex["response"].dump());
  ASSERT_TRUE(work.ok()) << work.error();
  EXPECT_EQ(work->header.height, ex["decoded"]["height"].get<std::uint64_t>());
  EXPECT_EQ(work->header.bits, ex["decoded"]["bits"].get<std::uint64_t>());
  EXPECT_EQ(work->header.timestamp, ex["decoded"]["timestamp"].get<std::uint64_t>());
  EXPECT_EQ(core::to_hex(work->header.previous_block_id), ex["decoded"]["previous_block_hash"].get<std::string>());
  EXPECT_EQ(core::to_hex(work->seed), ex["response"]["data"]["seed"].get<std::string>());
}

TEST(NodeSession, RefusesBadReplies) {
  EXPECT_FALSE(noderpc::parse_get_work_reply("not json").ok());
  EXPECT_FALSE(noderpc::parse_get_work_reply(R"({"status":"success","data":{"block_header":"zz","seed":"00"}})").ok());
  EXPECT_FALSE(noderpc::parse_get_work_reply(R"({"status":"success","data":{"block_header":"0101","seed":"00"}})").ok());
  const auto fail = noderpc::parse_get_work_reply(
      R"({"status":"fail","code":"BTM000","msg":"Bytom API Error","error_detail":"no block is ready for mining"})");
  ASSERT_FALSE(fail.ok());
  EXPECT_NE(fail.error().find("no block is ready for mining"), std::string::npos);
  const noderpc::Reply stale = noderpc::parse_reply(R"({"status":"fail","msg":"stale work: the chain tip moved on"})");
  EXPECT_FALSE(stale.success);
  EXPECT_EQ(stale.message, "stale work: the chain tip moved on");
}

// A session the test scripts: opens or fails as told, then serves until closed.
class ScriptedSession final : public Session {
 public:
  ScriptedSession(std::string name, std::shared_ptr<std::atomic<bool>> up, std::shared_ptr<std::atomic<int>> opens)
      : name_(std::move(name)), up_(std::move(up)), opens_(std::move(opens)) {}
  std::string describe() const override { return name_; }
  core::Result<bool> open(const SessionEvents& events) override {
    ++*opens_;
    if (!up_->load()) return core::Result<bool>::failure(name_ + " refused the connection");
    auto w = std::make_shared<Work>();
    w->upstream = name_;
    events.on_work(w);
    return true;
  }
  std::string run() override {
    std::unique_lock lock(m_);
    cv_.wait(lock, [&] { return closed_ || !up_->load(); });
    return closed_ ? "closed" : name_ + " went away";
  }
  void submit(const Solution&, SubmitHandler h) override { h(SubmitReply{SubmitStatus::accepted, "", {}}); }
  void close() override {
    std::lock_guard lock(m_);
    closed_ = true;
    cv_.notify_all();
  }
  void poke() {
    std::lock_guard lock(m_);
    cv_.notify_all();
  }

 private:
  std::string name_;
  std::shared_ptr<std::atomic<bool>> up_;
  std::shared_ptr<std::atomic<int>> opens_;
  std::mutex m_;
  std::condition_variable cv_;
  bool closed_ = false;
};

struct Scripted {
  explicit Scripted(std::string n) : name(std::move(n)) {}
  std::string name;
  std::shared_ptr<std::atomic<bool>> up = std::make_shared<std::atomic<bool>>(true);
  std::shared_ptr<std::atomic<int>> opens = std::make_shared<std::atomic<int>>(0);
  std::mutex m;
  std::vector<ScriptedSession*> live;
  UpstreamSpec spec() {
    return UpstreamSpec{name, [this] {
                          auto s = std::make_unique<ScriptedSession>(name, up, opens);
                          std::lock_guard lock(m);
                          live.push_back(s.get());
                          return s;
                        }};
  }
  // Sessions are owned by Upstreams; the test only wakes them so they notice `up`.
  void go_down() {
    up->store(false);
    std::lock_guard lock(m);
    for (auto* s : live) s->poke();
    live.clear();
  }
};

template <typename F>
bool eventually(F f, std::chrono::milliseconds limit = 5s) {
  const auto until = Clock::now() + limit;
  while (Clock::now() < until) {
    if (f()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return f();
}

TEST(Upstreams, FailsOverAndReturnsToThePrimary) {
  Scripted a("A"), b("B");
  std::mutex m;
  std::vector<std::string> work_from;
  FailoverOptions o;
  o.retries = 2;
  o.retry_pause = 10ms;
  o.max_pause = 20ms;
  o.probe_interval = 50ms;
  Upstreams ups({a.spec(), b.spec()}, o,
                [&](std::shared_ptr<const Work> w, std::uint64_t) {
                  std::lock_guard lock(m);
                  work_from.push_back(w->upstream);
                },
                nullptr, nullptr);
  ups.start();
  ASSERT_TRUE(eventually([&] { return ups.active() == 0; }));
  a.go_down();
  // Two failed attempts at A, then B.
  ASSERT_TRUE(eventually([&] { return ups.active() == 1; }));
  EXPECT_GE(a.opens->load(), 3);
  a.up->store(true);
  ASSERT_TRUE(eventually([&] { return ups.active() == 0; }));
  ups.stop();
  std::lock_guard lock(m);
  ASSERT_GE(work_from.size(), 3u);
  EXPECT_EQ(work_from.front(), "A");
  EXPECT_EQ(work_from[1], "B");
  EXPECT_EQ(work_from.back(), "A");
}

TEST(Upstreams, SolutionsForAnEarlierSessionAreNotSentToTheNextOne) {
  Scripted a("A");
  std::atomic<std::uint64_t> serial{0};
  FailoverOptions o;
  o.retry_pause = 10ms;
  Upstreams ups({a.spec()}, o, [&](std::shared_ptr<const Work>, std::uint64_t s) { serial = s; }, nullptr, nullptr);
  ups.start();
  ASSERT_TRUE(eventually([&] { return serial.load() != 0; }));
  const std::uint64_t first = serial.load();
  const int opens = a.opens->load();
  a.go_down();
  ASSERT_TRUE(eventually([&] { return a.opens->load() > opens; }));  // noticed, and a retry was refused
  a.up->store(true);
  ASSERT_TRUE(eventually([&] { return serial.load() != first && ups.active() == 0; }));
  SubmitReply got;
  ups.submit(Solution{}, first, [&](const SubmitReply& r) { got = r; });
  EXPECT_EQ(got.status, SubmitStatus::lost);
  ups.submit(Solution{}, serial.load(), [&](const SubmitReply& r) { got = r; });
  EXPECT_EQ(got.status, SubmitStatus::accepted);
  ups.stop();
}

TEST(MinerApi, TextForms) {
  MinerStats s;
  s.rates.s10 = 170.5;
  s.shares.accepted = 3;
  DeviceStats d;
  d.id = "cpu:0";
  d.rates.s10 = 170.5;
  s.devices.push_back(d);
  const json summary = json::parse(summary_json(s, "0.1.0"));
  EXPECT_EQ(summary["hashrate"]["10s"].get<double>(), 170.5);
  EXPECT_TRUE(summary["hashrate"]["60s"].is_null());
  EXPECT_EQ(summary["shares"]["accepted"].get<int>(), 3);
  const json devices = json::parse(devices_json(s));
  EXPECT_EQ(devices["devices"][0]["id"], "cpu:0");
  const std::string metrics = prometheus_text(s);
  EXPECT_NE(metrics.find("tensority_miner_hashrate{window=\"10s\"} 170.5"), std::string::npos);
  EXPECT_NE(metrics.find("tensority_miner_hashrate{device=\"cpu:0\",window=\"10s\"} 170.5"), std::string::npos);
  EXPECT_EQ(metrics.find("window=\"60s\""), std::string::npos);  // no data, no sample
  EXPECT_NE(metrics.find("tensority_miner_shares_total{result=\"accepted\"} 3"), std::string::npos);
}

// The whole miner on one thread of the real CPU device, mining a BenchmarkSession's work.
std::unique_ptr<Miner> cpu_miner(const BenchmarkOptions& b, std::chrono::milliseconds scan_time,
                                 bool return_on_find = true) {
  MinerOptions o;
  o.return_on_find = return_on_find;
  o.devices.selector = "cpu";
  o.devices.cpu_threads = 1;
  o.devices.pin_threads = false;
  o.scan_time = scan_time;
  const auto host = kernels::cpu::make_host_hasher(kernels::cpu::shared_cache_store());
  std::vector<UpstreamSpec> ups{{"benchmark", [b, host] { return std::make_unique<BenchmarkSession>(b, host); }}};
  auto miner = std::make_unique<Miner>(o, ups, kernels::hal::builtin_registry(), nullptr);
  EXPECT_TRUE(miner->start_devices().ok());
  miner->start_mining();
  return miner;
}

// Synthetic work at a difficulty one thread meets within seconds: every share is verified by
// the host and accepted by the session.
TEST(Miner, MinesSyntheticWorkOnTheCpu) {
  BenchmarkOptions b;
  b.start_difficulty = 4;
  b.retarget_interval = 3600s;
  b.block_interval = 3600s;
  auto miner = cpu_miner(b, 200ms);
  ASSERT_TRUE(eventually([&] { return miner->stats().shares.accepted >= 3; }, 60s));
  miner->stop();
  const MinerStats s = miner->stats();
  EXPECT_EQ(s.shares.rejected, 0u);
  EXPECT_EQ(s.shares.hardware_errors, 0u);
  ASSERT_EQ(s.devices.size(), 1u);
  EXPECT_GE(s.devices[0].shares.accepted, 3u);
  EXPECT_GT(s.hashes, 0u);
}

// Every hash meets difficulty 1, and a new block every second interrupts each 5 s search
// (searches here run to the end instead of returning at a find): whatever those searches
// found belongs to a replaced block and must be dropped, not sent.
TEST(Miner, DropsResultsOfAReplacedBlock) {
  BenchmarkOptions b;
  b.start_difficulty = 1;
  b.retarget_interval = 3600s;
  b.block_interval = 1s;
  auto miner = cpu_miner(b, 5s, false);
  ASSERT_TRUE(eventually([&] { return miner->stats().shares.dropped >= 20; }, 30s));
  miner->stop();
  const MinerStats s = miner->stats();
  // The first search call is sized from one hash per thread, so it ends before a block
  // change and its shares are sent; every later call is cut short by a new block.
  EXPECT_LE(s.shares.accepted, 2u);
  EXPECT_EQ(s.shares.rejected, 0u);
}

}  // namespace
}  // namespace tensority::miner

namespace tensority::miner {
namespace {

TEST(MineConfig, TheExampleFileLoads) {
  const auto values = config::load_yaml_file(mine_schema(), std::string(TENSORITY_TEST_DATA_DIR) + "/../../config/mine.example.yaml");
  ASSERT_TRUE(values.ok()) << values.error();
  const auto c = mine_config(*values);
  ASSERT_TRUE(c.ok()) << c.error();
  ASSERT_EQ(c->pools.size(), 2u);
  EXPECT_EQ(c->pools[1], "stratum+ssl://backup.example.org:6667");
  EXPECT_EQ(c->miner.failover.retries, 3u);
  EXPECT_EQ(c->miner.devices.selector, "all");
  const auto ups = make_upstreams(*c, "test");
  ASSERT_EQ(ups.size(), 2u);
  EXPECT_EQ(ups[0].name, "stratum+tcp://127.0.0.1:6666");
}

TEST(MineConfig, BadSettingsGetOneClearLine) {
  const auto schema = mine_schema();
  auto bad = config::load_yaml_text(schema, "pool: http://x:1\n", "m.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("m.yaml:1: pool"), std::string::npos) << bad.error();
  EXPECT_NE(bad.error().find("stratum+tcp://HOST:PORT"), std::string::npos) << bad.error();
  auto port = config::load_yaml_text(schema, "api:\n  port: 70000\n", "m.yaml");
  ASSERT_FALSE(port.ok());
  EXPECT_NE(port.error().find("m.yaml:2: api.port: '70000'"), std::string::npos) << port.error();
  // A pool needs a user; nothing to mine on is an error too.
  auto no_user = config::load_yaml_text(schema, "pool: stratum+tcp://127.0.0.1:3333\n", "m.yaml");
  ASSERT_TRUE(no_user.ok());
  EXPECT_FALSE(mine_config(*no_user).ok());
  auto nothing = config::load_yaml_text(schema, "threads: 2\n", "m.yaml");
  ASSERT_TRUE(nothing.ok());
  const auto why = mine_config(*nothing);
  ASSERT_FALSE(why.ok());
  EXPECT_NE(why.error().find("--benchmark"), std::string::npos);
}

TEST(MineConfig, NodesCanComeFirst) {
  const auto schema = mine_schema();
  auto v = config::load_yaml_text(
      schema, "pool: stratum+tcp://127.0.0.1:3333\nuser: a.b\nnode: http://127.0.0.1:9888\nfailover:\n  first: node\n", "m.yaml");
  ASSERT_TRUE(v.ok()) << v.error();
  const auto c = mine_config(*v);
  ASSERT_TRUE(c.ok());
  const auto ups = make_upstreams(*c, "test");
  ASSERT_EQ(ups.size(), 2u);
  EXPECT_EQ(ups[0].name, "http://127.0.0.1:9888");
}

}  // namespace
}  // namespace tensority::miner
