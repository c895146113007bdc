#pragma once
// `tensority mine`'s settings: the one schema (YAML keys, flags, --help, docs/miner.md's
// reference) and the typed configuration read from resolved values.
#include <chrono>
#include <string>
#include <vector>

#include "tensority/config/schema.hpp"
#include "tensority/miner/api.hpp"
#include "tensority/miner/miner.hpp"

namespace tensority::miner {

config::Schema mine_schema();

struct MineConfig {
  std::vector<std::string> pools;  // stratum+tcp:// or stratum+ssl:// URLs, failover order
  std::vector<std::string> nodes;  // http:// URLs of nodes for solo mining
  bool nodes_first = false;        // failover.first: node
  std::string user, pass, node_token;
  bool tls_verify = false;
  std::string tls_ca_file;
  bool keepalive = false;
  std::chrono::milliseconds job_timeout{900'000};  // stratum: no job this long ends the session
  bool benchmark = false;
  MinerOptions miner;
  bool api_enabled = true;
  ApiOptions api;
  double print_seconds = 10;
  double duration_seconds = 0;  // 0: until Ctrl-C
  std::string log_level = "info";
};

// Checks what single values cannot: something to mine on, a user for pools.
core::Result<MineConfig> mine_config(const config::Values& values);

// The failover list in order, one factory per URL (pools, nodes; nodes first if asked).
std::vector<UpstreamSpec> make_upstreams(const MineConfig& config, const std::string& agent);

}  // namespace tensority::miner
