#pragma once
// `tensority pool`'s settings: the one schema (YAML keys, flags, --help, the reference in
// docs/pool.md) and the typed configuration read from resolved values.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "tensority/config/schema.hpp"
#include "tensority/pool/accounting.hpp"
#include "tensority/pool/server.hpp"
#include "tensority/pool/share_processor.hpp"

namespace tensority::pool {

config::Schema pool_schema();

struct PayoutOptions {
  std::string keystore;                 // the pool wallet's key store; empty: no payouts
  std::string passphrase_file;          // for a sealed key store (else $TENSORITY_POOL_PASSPHRASE)
  std::uint64_t minimum = 100'000'000;  // neu (1 BTM)
  std::chrono::milliseconds interval{600'000};
  std::size_t max_outputs = 50;  // recipients per transaction
};

struct ApiConfig {
  bool enabled = true;
  std::string bind_address = "127.0.0.1";
  std::uint16_t port = 4070;
  std::string bearer_token;
};

struct PoolConfig {
  std::string node_url;
  std::string node_token;
  std::string network = "auto";  // mainnet, testnet, regtest or auto (ask the node)
  std::string data_dir;
  std::string database;  // store URL; empty: sqlite:<data_dir>/pool.db
  ServerOptions server;
  ProcessorOptions processor;
  std::string check_device = "cpu";
  AccountingOptions accounting;
  PayoutOptions payout;
  ApiConfig api;
  std::chrono::milliseconds maintenance_interval{2'000};  // block fates, leases, payouts
  std::chrono::milliseconds share_retention{7LL * 24 * 3600 * 1000};
  double print_seconds = 60;
  double duration_seconds = 0;
  std::string log_level = "info";
};

// Checks what single values cannot (a data directory or database, the node).
core::Result<PoolConfig> pool_config(const config::Values& values);

// $XDG_DATA_HOME/tensority/pool, else ~/.local/share/tensority/pool.
std::string default_pool_data_dir();

}  // namespace tensority::pool
