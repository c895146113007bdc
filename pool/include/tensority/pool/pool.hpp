#pragma once
// `tensority pool` as a library: the node's work in, the stratum server, share checks, the
// store, block fates, payouts and the numbers the API shows, started and stopped in order.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tensority/pool/options.hpp"
#include "tensority/pool/server.hpp"
#include "tensority/pool/store.hpp"

namespace tensority::pool {

enum class LogLevel { debug, info, warn, error };
using PoolLog = std::function<void(LogLevel level, std::string_view category, std::string_view message)>;

// Accepted share difficulty over the last minute, 5 minutes, hour and day, as hashes per
// second (a share of difficulty D stands for D hashes on average).
struct Hashrates {
  double m1 = 0, m5 = 0, h1 = 0, d1 = 0;
};

struct WorkerStats {
  std::string address;
  std::string worker;
  Hashrates hashrate;
  std::uint64_t shares_1d = 0;
  std::int64_t last_share_ms = 0;
  bool online = false;           // has an open session now
  std::uint64_t difficulty = 0;  // its session's current difficulty, when online
};

struct NetworkStats {
  std::string network;
  std::uint64_t height = 0;  // of the block being mined
  std::uint64_t bits = 0;
  std::uint64_t difficulty = 0;
  double hashrate = 0;                // difficulty / 150 s
  std::uint64_t reward_estimate = 0;  // neu: the subsidy of the block being mined (what PPS pays on)
  std::string previous_block_hash;
  std::int64_t work_age_ms = 0;  // since the last new block reached the pool
};

struct PoolStats {
  std::string version;
  std::string scheme;
  double fee_percent = 0;
  std::uint32_t instance = 0;
  std::string store_backend;
  bool maintainer = false;  // this instance runs block fates and payouts
  double uptime_seconds = 0;
  ServerCounters server;
  std::uint64_t checks = 0;
  std::size_t check_queue = 0;
  std::string check_device;
  std::uint64_t blocks_submitted = 0;  // by this process
  std::uint64_t blocks_refused = 0;    // the node said no
  Hashrates hashrate;                  // whole pool (every instance on the database)
  std::size_t miners = 0;              // addresses with a share in the last hour
  std::size_t workers = 0;             // (address, worker) with a share in the last hour
};

class Pool {
 public:
  Pool(PoolConfig config, PoolLog log, std::string version);
  ~Pool();  // stop()
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Everything up, in order; the error says which part failed and why.
  core::Result<std::monostate> start();
  // Stops taking work and sessions, answers what is in flight, closes the store.
  void stop();
  // Set when a part that cannot recover stopped (the node's work channel gave up).
  std::optional<std::string> failure() const;

  std::uint16_t stratum_port() const;
  std::uint16_t api_port() const;  // 0 without the API

  PoolStats stats();
  NetworkStats network();
  std::vector<WorkerStats> workers(std::optional<std::string_view> address);
  core::Result<std::vector<BlockRecord>> blocks(std::optional<BlockStatus> status, std::size_t limit);
  core::Result<std::vector<Payout>> payouts(std::optional<std::string_view> address, std::size_t limit);
  core::Result<std::optional<Balance>> balance(std::string_view address);
  core::Result<std::vector<Balance>> balances();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace tensority::pool
