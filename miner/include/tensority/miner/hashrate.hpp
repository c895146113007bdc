#pragma once
// Hash rate over sliding windows (10 s, 60 s, 15 min) from a ring of cumulative hash counts
// sampled about once a second. A window reports nothing ("n/a") until it has been covered
// by samples, so a fresh start never shows a rate made up from a fraction of the window.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace tensority::miner {

class HashrateMeter {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kWindows[] = {std::chrono::seconds(10), std::chrono::seconds(60),
                                                      std::chrono::seconds(900)};

  // Keeps enough samples for the longest window at one sample per `resolution`.
  explicit HashrateMeter(std::chrono::milliseconds resolution = std::chrono::milliseconds(1000),
                         std::chrono::seconds longest = std::chrono::seconds(900));

  // Records the cumulative count at `now`. Samples closer than half the resolution to the
  // previous one replace it, so the ring covers the longest window whatever the call rate.
  void sample(std::uint64_t total_hashes, Clock::time_point now = Clock::now());
  // Hashes per second over the last `window`, or nothing while the samples span less.
  std::optional<double> rate(std::chrono::seconds window, Clock::time_point now = Clock::now()) const;

 private:
  struct Sample {
    Clock::time_point at;
    std::uint64_t hashes = 0;
  };
  std::chrono::milliseconds resolution_;
  mutable std::mutex mutex_;
  std::vector<Sample> ring_;
  std::size_t head_ = 0;  // next slot to write
  std::size_t size_ = 0;
};

// "171.3 H/s", "1.25 kH/s", "n/a".
std::string format_rate(std::optional<double> rate);

}  // namespace tensority::miner
