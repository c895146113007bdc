#pragma once
// Per-device tuned launch parameters, kept in a JSON state file (never the user's
// config), and the batch-size search that fills it on a device's first use.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tensority/core/types.hpp"
#include "tensority/kernels/hal/device.hpp"

namespace tensority::kernels::hal {

class TuningStore {
 public:
  explicit TuningStore(std::filesystem::path file);

  // The process-wide store at state_directory()/tuning.json.
  static TuningStore& process_default();

  const std::filesystem::path& file() const { return file_; }
  // The entry saved under key, or nothing (also when the file is missing or unreadable:
  // a damaged state file costs a re-tune, never a failure).
  std::optional<nlohmann::json> load(const std::string& key) const;
  // Read-modify-write of one entry, replacing the file atomically (write + rename).
  Status save(const std::string& key, const nlohmann::json& value);

 private:
  std::filesystem::path file_;
  mutable std::mutex mutex_;
};

// Identifies what a tuned value belongs to: the device (stable id, name, driver) and the
// kernel, so a new driver or kernel triggers a fresh tune.
std::string tuning_key(const DeviceInfo& info, std::string_view kernel);

struct AutotuneTrial {
  std::uint64_t batch = 0;
  double hashes_per_second = 0;
};

struct AutotuneResult {
  std::uint64_t batch = 0;
  double hashes_per_second = 0;
  std::vector<AutotuneTrial> trials;
  nlohmann::json to_json() const;
};

// Doubles the batch from `first` while the measured rate improves by at least
// `min_gain` (a fraction), never beyond `limit`, and keeps the best. measure(batch)
// times real work at that batch and returns hashes per second or an error.
core::Result<AutotuneResult> autotune_batch(std::uint64_t first, std::uint64_t limit,
                                            const std::function<core::Result<double>(std::uint64_t)>& measure,
                                            double min_gain = 0.03);

}  // namespace tensority::kernels::hal
