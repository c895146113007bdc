#include "tensority/miner/hashrate.hpp"

#include <algorithm>

#include <fmt/core.h>

namespace tensority::miner {

HashrateMeter::HashrateMeter(std::chrono::milliseconds resolution, std::chrono::seconds longest)
    : resolution_(std::max(resolution, std::chrono::milliseconds(1))) {
  // Two spare slots: one for the sample that opens the window, one for the one being replaced.
  const auto slots = static_cast<std::size_t>(std::chrono::duration_cast<std::chrono::milliseconds>(longest) / resolution_);
  ring_.resize(slots + 2);
}

void HashrateMeter::sample(std::uint64_t total_hashes, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (size_ > 0) {
    Sample& last = ring_[(head_ + ring_.size() - 1) % ring_.size()];
    if (now < last.at) return;  // a clock that went backwards gives no rate
    if (now - last.at < resolution_ / 2 && size_ > 1) {
      last = Sample{now, total_hashes};
      return;
    }
  }
  ring_[head_] = Sample{now, total_hashes};
  head_ = (head_ + 1) % ring_.size();
  size_ = std::min(size_ + 1, ring_.size());
}

std::optional<double> HashrateMeter::rate(std::chrono::seconds window, Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  if (size_ < 2) return std::nullopt;
  const Sample& newest = ring_[(head_ + ring_.size() - 1) % ring_.size()];
  const Sample& oldest = ring_[(head_ + ring_.size() - size_) % ring_.size()];
  const auto since = now - window;
  // Tolerate sampling jitter: a window counts as covered when the oldest sample is within
  // half a resolution step of its start.
  if (oldest.at > since + resolution_ / 2) return std::nullopt;
  // The newest sample at or before the window start opens it.
  const Sample* open = &oldest;
  for (std::size_t i = 0; i < size_; ++i) {
    const Sample& s = ring_[(head_ + ring_.size() - size_ + i) % ring_.size()];
    if (s.at > since) break;
    open = &s;
  }
  const double seconds = std::chrono::duration<double>(newest.at - open->at).count();
  if (seconds <= 0) return std::nullopt;
  return static_cast<double>(newest.hashes - open->hashes) / seconds;
}

std::string format_rate(std::optional<double> rate) {
  if (!rate) return "n/a";
  const double r = *rate;
  if (r >= 1e9) return fmt::format("{:.2f} GH/s", r / 1e9);
  if (r >= 1e6) return fmt::format("{:.2f} MH/s", r / 1e6);
  if (r >= 1e4) return fmt::format("{:.2f} kH/s", r / 1e3);
  return fmt::format("{:.1f} H/s", r);
}

}  // namespace tensority::miner
