#include "tensority/pool/vardiff.hpp"

#include <algorithm>
#include <cmath>

namespace tensority::pool {

Vardiff::Vardiff(VardiffOptions options, Clock::time_point now)
    : options_(options), difficulty_(std::clamp(options.start, options.min, options.max)), last_change_(now) {
  options_.window = std::max<std::size_t>(options_.window, 2);
  options_.max_step = std::max(options_.max_step, 1.0);
}

std::optional<std::uint64_t> Vardiff::retarget(double seconds_per_share, Clock::time_point now) {
  const double target = std::chrono::duration<double>(options_.target_interval).count();
  if (seconds_per_share <= 0 || target <= 0) return std::nullopt;
  const double ratio = seconds_per_share / target;
  if (ratio >= 1.0 - options_.variance && ratio <= 1.0 + options_.variance) return std::nullopt;
  // Shares too fast (ratio < 1) raise the difficulty in proportion, and the other way round.
  const double factor = std::clamp(1.0 / ratio, 1.0 / options_.max_step, options_.max_step);
  const double wanted = static_cast<double>(difficulty_) * factor;
  const auto next = std::clamp(static_cast<std::uint64_t>(std::llround(std::min(wanted, 1.8e19))), options_.min, options_.max);
  if (next == difficulty_) return std::nullopt;
  difficulty_ = next;
  last_change_ = now;
  // Shares found at the old difficulty say nothing about the new one.
  shares_.clear();
  return difficulty_;
}

std::optional<std::uint64_t> Vardiff::on_share(Clock::time_point now) {
  shares_.push_back(now);
  while (shares_.size() > options_.window) shares_.pop_front();
  if (now - last_change_ < options_.retarget_interval || shares_.size() < 4) return std::nullopt;
  // The mean interval between the shares in the window (all found at this difficulty).
  const double span = std::chrono::duration<double>(shares_.back() - shares_.front()).count();
  return retarget(span / static_cast<double>(shares_.size() - 1), now);
}

std::optional<std::uint64_t> Vardiff::on_idle(Clock::time_point now) {
  const Clock::time_point since = shares_.empty() ? last_change_ : shares_.back();
  const double quiet = std::chrono::duration<double>(now - since).count();
  const double target = std::chrono::duration<double>(options_.target_interval).count();
  if (now - last_change_ < options_.retarget_interval || quiet < target * (1.0 + options_.variance)) return std::nullopt;
  // No share for `quiet` seconds: the rate is at most one share per `quiet`.
  return retarget(quiet, now);
}

}  // namespace tensority::pool
