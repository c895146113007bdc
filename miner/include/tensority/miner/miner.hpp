#pragma once
// The miner: every selected device hashing the work of one upstream at a time, each device
// on its own slice of the job's nonce range, with every found nonce re-verified on the host
// before it is submitted. Devices restart at once on new work; results for work older than
// the newest block are dropped, never submitted.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tensority/kernels/hal/checked_worker.hpp"
#include "tensority/kernels/hal/registry.hpp"
#include "tensority/miner/hashrate.hpp"
#include "tensority/miner/upstreams.hpp"

namespace tensority::miner {

struct DeviceOptions {
  std::string selector = "all";  // all | cpu | cuda | opencl | cpu:0 | cuda:N | opencl:P:D, comma separated
  unsigned cpu_threads = 0;      // 0 = one per allowed core
  std::string kernel;            // empty = fastest per device
  bool pin_threads = true;
  int cpu_nice = 0;              // nice level of the CPU hashing threads
  std::uint64_t gpu_batch = 0;   // 0 = autotuned
};

struct MinerOptions {
  DeviceOptions devices;
  // How long one search call runs before found nonces are handed on (and the rate
  // re-estimated); new work interrupts it at once regardless.
  std::chrono::milliseconds scan_time{1'000};
  // A search call ends at its first find, so a share or block goes out at once instead of at
  // the end of the call (SearchJob::return_on_find).
  bool return_on_find = true;
  FailoverOptions failover;
  // Ctrl-C waits this long for submissions already sent.
  std::chrono::milliseconds submit_grace{10'000};
};

// Device `index` of `count` searches [start, start + length) of the work's range (wrapping
// at 2^64); slices are disjoint and cover the range. length is at most 2^64.
struct NonceSlice {
  std::uint64_t start = 0;
  __extension__ unsigned __int128 length = 0;
};
NonceSlice nonce_slice(const Work& work, std::size_t index, std::size_t count);

struct Rates {
  std::optional<double> s10, s60, m15;
};

struct ShareCounts {
  std::uint64_t accepted = 0, rejected = 0, stale = 0, lost = 0;
  std::uint64_t dropped = 0;          // found for work a new block had made stale; not sent
  std::uint64_t hardware_errors = 0;  // device results the host could not reproduce
  std::uint64_t blocks = 0;           // accepted solutions that met the block target
};

struct DeviceStats {
  std::string id, name, backend, kernel;
  unsigned parallelism = 0;
  std::string state;  // "hashing", "preparing seed", "waiting for work", "failed: ..."
  Rates rates;
  std::uint64_t hashes = 0;
  ShareCounts shares;
};

struct MinerStats {
  double uptime_seconds = 0;
  Rates rates;
  std::uint64_t hashes = 0;
  ShareCounts shares;
  std::string upstream;  // in use, "" when none
  bool connected = false;
  std::uint64_t height = 0;
  std::string job_id;
  double share_difficulty = 0;
  std::vector<UpstreamStatus> upstreams;
  std::vector<DeviceStats> devices;
};

class Miner {
 public:
  Miner(MinerOptions options, std::vector<UpstreamSpec> upstreams, kernels::hal::Registry& registry, LogFn log);
  ~Miner();
  Miner(const Miner&) = delete;
  Miner& operator=(const Miner&) = delete;

  // Creates a worker on every selected device and runs its self-test; a device that fails
  // is left out with a logged reason. Fails when no device can run.
  core::Result<bool> start_devices();
  // Connects (with failover) and starts hashing as work arrives.
  void start_mining();
  // Stops hashing, waits up to submit_grace for submissions in flight, closes upstreams.
  void stop();

  MinerStats stats() const;
  // Devices still able to hash (not failed).
  std::size_t running_devices() const;
  // Records hash counts for the rate windows; called about once a second (start_mining
  // starts a thread that does it).
  void sample();
  // Prepares `seed` on every device between searches, so the epoch it opens starts without
  // a cache build. Used when the miner itself learns the next epoch's seed early.
  void hint_next_seed(const core::Hash& seed);

 private:
  struct Slot;
  struct Held;
  void on_work(std::shared_ptr<const Work> work, std::uint64_t session_serial);
  void on_lost(const std::string& why);
  void device_loop(Slot& slot);
  void on_found(Slot& slot, const std::shared_ptr<const Held>& held, const kernels::hal::Found& found);
  void log(LogLevel level, std::string_view category, const std::string& message) const;

  MinerOptions options_;
  kernels::hal::Registry& registry_;
  LogFn log_;
  std::unique_ptr<Upstreams> upstreams_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::chrono::steady_clock::time_point started_;

  mutable std::mutex mutex_;
  std::condition_variable work_cv_;
  std::shared_ptr<const Held> held_;  // the work devices should hash; null when none
  std::uint64_t generation_ = 0;      // bumped on every new work
  std::uint64_t block_generation_ = 0;  // bumped on work for a new block
  std::optional<core::Hash> next_seed_;
  bool quit_ = false;

  HashrateMeter total_meter_;
  mutable std::mutex counts_mutex_;
  ShareCounts totals_;
  std::atomic<std::uint64_t> in_flight_{0};
  std::condition_variable in_flight_cv_;

  std::thread sampler_;
  bool sampler_quit_ = false;
  std::condition_variable sampler_cv_;
};

}  // namespace tensority::miner
