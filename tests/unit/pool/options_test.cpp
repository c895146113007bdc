// `tensority pool`'s settings: config/pool.example.yaml loads, a file gives the PoolConfig it
// should (units converted: percent to basis points, BTM to neu, seconds and days to ms), and bad
// values are refused with one line.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "tensority/config/schema.hpp"
#include "tensority/pool/options.hpp"

namespace tensority::pool {
namespace {

using namespace std::chrono_literals;

const std::string kExample = std::string(TENSORITY_TEST_DATA_DIR) + "/../../config/pool.example.yaml";

core::Result<PoolConfig> config_of(std::string_view yaml) {
  auto values = config::load_yaml_text(pool_schema(), yaml, "pool.yaml");
  if (!values) return core::Result<PoolConfig>::failure(values.error());
  return pool_config(*values);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void expect_one_line(const std::string& error) {
  EXPECT_FALSE(error.empty());
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
}

// The example file and the guide's reference are generated from the schema; a changed setting
// must be regenerated into both (tensority pool --example-config; config::markdown_reference).
TEST(PoolOptions, TheExampleAndTheGuideMatchTheSchema) {
  const std::string example = read_file(kExample);
  EXPECT_NE(example.find(config::yaml_example(pool_schema())), std::string::npos)
      << "config/pool.example.yaml differs from `tensority pool --example-config`";
  const std::string guide = read_file(std::string(TENSORITY_TEST_DATA_DIR) + "/../../docs/pool.md");
  const config::Schema schema = pool_schema();  // options() refers into it
  for (const auto& o : schema.options()) {
    EXPECT_NE(guide.find("| " + o.help + " |"), std::string::npos) << "docs/pool.md lacks the help of " << o.key;
  }
}

TEST(PoolOptions, TheExampleFileLoadsAndLacksOnlyTheNode) {
  auto values = config::load_yaml_file(pool_schema(), kExample);
  ASSERT_TRUE(values.ok()) << values.error();
  const auto c = pool_config(*values);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().find("--node is required"), std::string::npos) << c.error();
  expect_one_line(c.error());

  // With a node it is a whole configuration, every value at the schema's default.
  config::Values with_node = *values;
  ASSERT_TRUE(with_node.try_set("node", {"http://127.0.0.1:9888"}, "test").ok());
  const auto full = pool_config(with_node);
  ASSERT_TRUE(full.ok()) << full.error();
  EXPECT_EQ(full->node_url, "http://127.0.0.1:9888");
  EXPECT_EQ(full->network, "auto");
  EXPECT_EQ(full->server.port, 6666);
  EXPECT_EQ(full->server.bind_address, "0.0.0.0");
  EXPECT_EQ(full->server.vardiff.start, 8192u);
  EXPECT_EQ(full->server.vardiff.min, 64u);
  EXPECT_EQ(full->server.vardiff.max, std::uint64_t{1} << 32);
  EXPECT_EQ(full->accounting.scheme, Scheme::pplns);
  EXPECT_EQ(full->accounting.fee_basis_points, 100u);
  EXPECT_EQ(full->payout.minimum, 100'000'000u);
  EXPECT_EQ(full->payout.interval, 600'000ms);
  EXPECT_TRUE(full->payout.keystore.empty());
  EXPECT_EQ(full->api.bind_address, "127.0.0.1");
  EXPECT_EQ(full->api.port, 4070);
  EXPECT_EQ(full->check_device, "cpu");
  EXPECT_EQ(full->database, "sqlite:" + default_pool_data_dir() + "/pool.db");
}

TEST(PoolOptions, AFileGivesTheExpectedConfig) {
  const auto c = config_of(R"(node: http://10.0.0.5:9888
node-token: secret
network: regtest
instance-id: 3
stratum:
  bind: 127.0.0.1
  port: 3333
  threads: 4
  idle-timeout: 90
  login-timeout: 2.5
  max-sessions-per-ip: 0
vardiff:
  start: 1024
  min: 16
  max: 65536
  share-interval: 10
  retarget-interval: 45
  variance: 25
ban:
  invalid-percent: 40
  duration: 60
  ip: false
check-threads: 3
check-queue: 100
scheme: pps
fee: 1.5
pplns-window: 3
payout:
  keystore: /srv/pool/wallet.json
  minimum: 0.5
  interval: 120
  max-outputs: 20
data-dir: /srv/pool/data
share-retention: 2
api:
  port: 0
  token: t0k
print-time: 30
duration: 600
log-level: debug
)");
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->node_url, "http://10.0.0.5:9888");
  EXPECT_EQ(c->node_token, "secret");
  EXPECT_EQ(c->network, "regtest");
  EXPECT_EQ(c->server.instance, 3u);
  EXPECT_EQ(c->server.bind_address, "127.0.0.1");
  EXPECT_EQ(c->server.port, 3333);
  EXPECT_EQ(c->server.threads, 4u);
  EXPECT_EQ(c->server.idle_timeout, 90'000ms);
  EXPECT_EQ(c->server.login_timeout, 2'500ms);
  EXPECT_EQ(c->server.max_sessions_per_ip, 0u);
  EXPECT_EQ(c->server.vardiff.start, 1024u);
  EXPECT_EQ(c->server.vardiff.min, 16u);
  EXPECT_EQ(c->server.vardiff.max, 65536u);
  EXPECT_EQ(c->server.vardiff.target_interval, 10'000ms);
  EXPECT_EQ(c->server.vardiff.retarget_interval, 45'000ms);
  EXPECT_DOUBLE_EQ(c->server.vardiff.variance, 0.25);
  EXPECT_DOUBLE_EQ(c->server.ban_invalid_ratio, 0.40);
  EXPECT_EQ(c->server.ban_duration, 60'000ms);
  EXPECT_FALSE(c->server.ban_ip);
  EXPECT_EQ(c->processor.threads, 3u);
  EXPECT_EQ(c->processor.max_queue, 100u);
  EXPECT_EQ(c->accounting.scheme, Scheme::pps);
  EXPECT_EQ(c->accounting.fee_basis_points, 150u);
  EXPECT_DOUBLE_EQ(c->accounting.pplns_window_factor, 3.0);
  EXPECT_EQ(c->payout.keystore, "/srv/pool/wallet.json");
  EXPECT_EQ(c->payout.minimum, 50'000'000u);
  EXPECT_EQ(c->payout.interval, 120'000ms);
  EXPECT_EQ(c->payout.max_outputs, 20u);
  EXPECT_EQ(c->data_dir, "/srv/pool/data");
  EXPECT_EQ(c->database, "sqlite:/srv/pool/data/pool.db");
  EXPECT_EQ(c->share_retention, std::chrono::milliseconds(2LL * 86'400'000));
  EXPECT_TRUE(c->api.enabled);
  EXPECT_EQ(c->api.port, 0);
  EXPECT_EQ(c->api.bearer_token, "t0k");
  EXPECT_DOUBLE_EQ(c->print_seconds, 30);
  EXPECT_DOUBLE_EQ(c->duration_seconds, 600);
  EXPECT_EQ(c->log_level, "debug");
}

TEST(PoolOptions, AnExplicitDatabaseWins) {
  const auto c = config_of("node: http://127.0.0.1:9888\ndatabase: postgresql://pool@db.internal:5432/pool\n");
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->database, "postgresql://pool@db.internal:5432/pool");
  const auto s = config_of("node: http://127.0.0.1:9888\ndatabase: sqlite:/tmp/p.db\n");
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ(s->database, "sqlite:/tmp/p.db");
}

TEST(PoolOptions, BadValuesGetOneLine) {
  struct Case {
    const char* yaml;
    const char* says;
  };
  const Case cases[] = {
      {"node: http://127.0.0.1:9888\nvardiff:\n  min: 5000\n  max: 4000\n  start: 4500\n",
       "vardiff.min (5000) is above vardiff.max (4000)"},
      {"node: http://127.0.0.1:9888\nvardiff:\n  min: 64\n  max: 1024\n  start: 8192\n",
       "vardiff.start (8192) must lie between vardiff.min and vardiff.max"},
      {"node: http://127.0.0.1:9888\nvardiff:\n  start: 32\n", "vardiff.start (32) must lie between"},
      {"node: http://127.0.0.1:9888\nscheme: prop\n", "pool.yaml:2: scheme: 'prop'"},
      {"node: http://127.0.0.1:9888\ndatabase: mysql://pool@localhost/pool\n", "pool.yaml:2: database: 'mysql://"},
      {"node: http://127.0.0.1:9888\nvardiff:\n  max: 4294967297\n", "pool.yaml:3: vardiff.max: '4294967297'"},
      {"node: 10.0.0.5:9888\n", "pool.yaml:1: node"},
      {"node: http://127.0.0.1:9888\ninstance-id: 128\n", "pool.yaml:2: instance-id: '128'"},
      {"node: http://127.0.0.1:9888\nfee: 101\n", "pool.yaml:2: fee: '101'"},
  };
  for (const auto& k : cases) {
    const auto c = config_of(k.yaml);
    ASSERT_FALSE(c.ok()) << k.yaml;
    EXPECT_NE(c.error().find(k.says), std::string::npos) << "got: " << c.error();
    expect_one_line(c.error());
  }
  // What is allowed is named.
  EXPECT_NE(config_of("node: http://x:1\nscheme: prop\n").error().find("pplns"), std::string::npos);
  EXPECT_NE(config_of("node: http://x:1\ndatabase: mysql://x/y\n").error().find("postgresql://"), std::string::npos);
  // The most the 4-byte target field can say is allowed.
  EXPECT_TRUE(config_of("node: http://x:1\nvardiff:\n  max: 4294967296\n").ok());
}

}  // namespace
}  // namespace tensority::pool
