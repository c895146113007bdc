#pragma once
// Per-session variable difficulty towards a target share interval. The estimate is the mean
// interval of the last shares; a change is made at most once per retarget interval, only when
// the estimate leaves the allowed variance, by at most a factor of max_step, and within
// [min, max]. A session that goes quiet is stepped down without waiting for a share, so a
// miner whose difficulty is too high for it is not stranded.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

namespace tensority::pool {

struct VardiffOptions {
  std::uint64_t start = 8192;  // the same defaults as `tensority pool`'s settings
  std::uint64_t min = 64;
  std::uint64_t max = std::uint64_t{1} << 32;           // the 4-byte target field's limit
  std::chrono::milliseconds target_interval{15'000};    // seconds per share wanted
  std::chrono::milliseconds retarget_interval{30'000};  // least time between changes
  double variance = 0.3;                                // tolerated relative deviation
  double max_step = 4.0;                                // largest factor per change
  std::size_t window = 16;                              // shares in the estimate
};

class Vardiff {
 public:
  using Clock = std::chrono::steady_clock;
  Vardiff(VardiffOptions options, Clock::time_point now);

  std::uint64_t difficulty() const { return difficulty_; }
  // Records an accepted share; returns the new difficulty when it changes.
  std::optional<std::uint64_t> on_share(Clock::time_point now);
  // For a timer: steps a quiet session down; returns the new difficulty when it changes.
  std::optional<std::uint64_t> on_idle(Clock::time_point now);

 private:
  std::optional<std::uint64_t> retarget(double seconds_per_share, Clock::time_point now);

  VardiffOptions options_;
  std::uint64_t difficulty_;
  std::deque<Clock::time_point> shares_;
  Clock::time_point last_change_;
};

}  // namespace tensority::pool
