#include "tensority/kernels/hal/tuning.hpp"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <system_error>

#include "tensority/kernels/hal/paths.hpp"

namespace tensority::kernels::hal {
namespace {

nlohmann::json read_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) return nlohmann::json::object();
  auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return nlohmann::json::object();
  return j;
}

}  // namespace

TuningStore::TuningStore(std::filesystem::path file) : file_(std::move(file)) {}

TuningStore& TuningStore::process_default() {
  static TuningStore store(state_directory() / "tuning.json");
  return store;
}

std::optional<nlohmann::json> TuningStore::load(const std::string& key) const {
  std::lock_guard lock(mutex_);
  const nlohmann::json all = read_file(file_);
  auto it = all.find(key);
  if (it == all.end()) return std::nullopt;
  return *it;
}

Status TuningStore::save(const std::string& key, const nlohmann::json& value) {
  std::lock_guard lock(mutex_);
  std::error_code ec;
  std::filesystem::create_directories(file_.parent_path(), ec);
  if (ec) {
    return Status::error(StatusCode::device_error,
                         "cannot create " + file_.parent_path().string() + ": " + ec.message());
  }
  nlohmann::json all = read_file(file_);
  all[key] = value;
  // Write beside the file and rename over it, so a crash never leaves half a file.
  const auto tmp = file_.string() + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << all.dump(2) << '\n';
    if (!out) return Status::error(StatusCode::device_error, "cannot write " + tmp);
  }
  std::filesystem::rename(tmp, file_, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return Status::error(StatusCode::device_error, "cannot replace " + file_.string());
  }
  return Status::success();
}

std::string tuning_key(const DeviceInfo& info, std::string_view kernel) {
  std::ostringstream k;
  k << info.backend << '|' << (info.stable_id.empty() ? info.id : info.stable_id) << '|' << info.name << '|'
    << info.driver_version << '|' << kernel;
  return k.str();
}

nlohmann::json AutotuneResult::to_json() const {
  nlohmann::json t = nlohmann::json::array();
  for (const auto& trial : trials) t.push_back({{"batch", trial.batch}, {"hashes_per_second", trial.hashes_per_second}});
  return {{"batch", batch}, {"hashes_per_second", hashes_per_second}, {"trials", t}};
}

core::Result<AutotuneResult> autotune_batch(std::uint64_t first, std::uint64_t limit,
                                            const std::function<core::Result<double>(std::uint64_t)>& measure,
                                            double min_gain) {
  using R = core::Result<AutotuneResult>;
  if (first == 0 || limit < first) return R::failure("autotune: empty batch range");
  AutotuneResult out;
  for (std::uint64_t batch = first; batch <= limit; batch *= 2) {
    auto rate = measure(batch);
    if (!rate) {
      // A batch too large for the device (out of memory, watchdog) ends the search; the
      // best so far stands unless nothing worked at all.
      if (out.trials.empty()) return R::failure("autotune at batch " + std::to_string(batch) + ": " + rate.error());
      break;
    }
    out.trials.push_back({batch, *rate});
    const bool better = *rate > out.hashes_per_second * (1.0 + min_gain);
    if (*rate > out.hashes_per_second) {
      out.batch = batch;
      out.hashes_per_second = *rate;
    }
    if (!better && out.trials.size() > 1) break;
    if (batch > limit / 2) break;
  }
  return out;
}

}  // namespace tensority::kernels::hal
