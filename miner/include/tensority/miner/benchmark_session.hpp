#pragma once
// `tensority mine --benchmark`: a synthetic upstream with no network, for rigs being set
// up. It serves mainnet-shaped work with a random epoch seed, retargets the share
// difficulty to about one share per `share_interval` from the hash rate it is told, moves
// to a new block every `block_interval` (so job switching and seed handling run as they
// would against a pool), and judges each share itself: it recomputes the result on the
// host and accepts it only when it meets the share target.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>

#include "tensority/kernels/hal/checked_worker.hpp"
#include "tensority/miner/session.hpp"

namespace tensority::miner {

struct BenchmarkOptions {
  std::chrono::seconds share_interval{10};
  std::chrono::seconds retarget_interval{15};
  std::chrono::seconds block_interval{60};
  double start_difficulty = 16384;
  std::function<std::optional<double>()> hashrate;  // the miner's 60 s (else 10 s) rate
};

class BenchmarkSession final : public Session {
 public:
  BenchmarkSession(BenchmarkOptions options, kernels::hal::HostHasher host);
  std::string describe() const override { return "benchmark (synthetic work, no network)"; }
  core::Result<bool> open(const SessionEvents& events) override;
  std::string run() override;
  void submit(const Solution& solution, SubmitHandler handler) override;
  void close() override;

 private:
  void publish(bool new_block);

  BenchmarkOptions options_;
  kernels::hal::HostHasher host_;
  SessionEvents events_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool closing_ = false;
  double difficulty_;
  std::uint64_t jobs_ = 0;
  std::uint64_t height_ = 100'000;
  core::Hash parent_{};
  core::Hash seed_{};
};

// floor(2^256 / difficulty) as a comparable target (difficulty clamped to >= 1).
core::Target256 target_for_difficulty(double difficulty);

}  // namespace tensority::miner
