#include "tensority/pool/check_hasher.hpp"

#include <atomic>
#include <memory>
#include <mutex>

#include "tensority/kernels/cpu/backend.hpp"
#include "tensority/kernels/hal/registry.hpp"

namespace tensority::pool {

core::Result<CheckHasher> make_check_hasher(const std::string& selector, std::function<void(const std::string&)> warn) {
  using R = core::Result<CheckHasher>;
  auto cpu = kernels::cpu::make_host_hasher(kernels::cpu::shared_cache_store());
  // Any CPU selector means the CPU engine on every checking thread: one device worker behind a
  // lock would check one share at a time.
  if (selector.empty() || selector == "cpu" || selector.rfind("cpu:", 0) == 0) return CheckHasher{cpu, "cpu", false};

  auto devices = kernels::hal::builtin_registry().select(selector);
  if (!devices) return R::failure("--check-device: " + devices.error());
  if (devices->size() != 1) {
    return R::failure("--check-device: '" + selector + "' names " + std::to_string(devices->size()) +
                      " devices; give one id, e.g. cuda:0 (see tensority devices)");
  }
  const auto& device = (*devices)[0];
  std::unique_ptr<kernels::hal::Worker> worker;
  kernels::hal::WorkerOptions options;
  options.autotune = false;
  if (auto st = device->create_worker(options, worker); !st) {
    return R::failure("--check-device " + selector + ": " + st.message);
  }
  std::string report;
  if (auto st = worker->self_test(report); !st) {
    return R::failure("--check-device " + selector + ": self-test failed: " + st.message);
  }

  struct Shared {
    std::mutex mutex;
    std::unique_ptr<kernels::hal::Worker> worker;
    core::Hash prepared{};
    bool has_prepared = false;
    std::atomic<bool> failed{false};
  };
  auto shared = std::make_shared<Shared>();
  shared->worker = std::move(worker);
  const std::string name = device->info().id + " " + device->info().name;
  kernels::hal::HostHasher hash = [shared, cpu, warn, name](const core::Hash& seed, const core::Hash& block_id) {
    if (!shared->failed) {
      std::lock_guard lock(shared->mutex);
      kernels::hal::Status st;
      if (!shared->has_prepared || shared->prepared != seed) {
        st = shared->worker->prepare(seed);
        shared->has_prepared = st.ok();
        shared->prepared = seed;
      }
      core::Hash result{};
      if (st.ok()) st = shared->worker->hash(block_id, result);
      if (st.ok()) return result;
      shared->failed = true;
      if (warn) warn("share checks on " + name + " failed (" + st.message + "); checking on the CPU from now on");
    }
    return cpu(seed, block_id);
  };
  return CheckHasher{hash, name, true};
}

}  // namespace tensority::pool
