#include "tensority/hwdetect/accelerator.hpp"

#include <algorithm>
#include <exception>
#include <mutex>
#include <string>
#include <utility>

#include "tensority/hwdetect/gpu_probes.hpp"

namespace tensority::hwdetect {
namespace {

// Probes register from static initialisers in other translation units, so the
// registry must exist before any of them runs: a function-local static does.
struct Registry {
  std::mutex mutex;
  std::vector<std::unique_ptr<AcceleratorProbe>> probes;
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

void ensure_builtin_probes() {
  // Outside the registry lock: register_probe takes it. A throw (bad_alloc)
  // leaves the flag unset, so the next call tries again.
  static std::once_flag once;
  std::call_once(once, [] {
    register_probe(make_cuda_probe());
    register_probe(make_opencl_probe());
  });
}

bool register_probe(std::unique_ptr<AcceleratorProbe> probe) {
  if (!probe) return false;
  Registry& r = registry();
  const std::lock_guard lock(r.mutex);
  const std::string_view name = probe->name();
  const bool taken = std::any_of(r.probes.begin(), r.probes.end(),
                                 [&](const auto& p) { return p->name() == name; });
  if (taken) return false;
  r.probes.push_back(std::move(probe));
  return true;
}

std::unique_ptr<AcceleratorProbe> unregister_probe(std::string_view name) {
  Registry& r = registry();
  const std::lock_guard lock(r.mutex);
  const auto it = std::find_if(r.probes.begin(), r.probes.end(),
                               [&](const auto& p) { return p->name() == name; });
  if (it == r.probes.end()) return nullptr;
  std::unique_ptr<AcceleratorProbe> out = std::move(*it);
  r.probes.erase(it);
  return out;
}

std::vector<std::string> registered_probe_names() {
  ensure_builtin_probes();
  Registry& r = registry();
  const std::lock_guard lock(r.mutex);
  std::vector<std::string> names;
  names.reserve(r.probes.size());
  for (const auto& p : r.probes) names.emplace_back(p->name());
  return names;
}

ProbeRun run_probes() {
  ensure_builtin_probes();
  Registry& r = registry();
  // Held while probing so that no module can unregister (and unload) a probe
  // that is running; a probe must therefore not call back into the registry.
  const std::lock_guard lock(r.mutex);
  ProbeRun run;
  for (const auto& p : r.probes) {
    const std::string prefix = std::string(p->name()) + ": ";
    ProbeResult result;
    try {
      result = p->probe();
    } catch (const std::exception& e) {
      result = ProbeResult::failure(std::string("probe threw: ") + e.what());
    } catch (...) {
      result = ProbeResult::failure("probe threw a non-standard exception");
    }
    for (auto& note : result.notes) run.notes.push_back(prefix + note);
    if (!result.ok()) {
      run.notes.push_back(prefix + result.error);
      continue;
    }
    for (auto& device : result.devices) {
      if (device.api.empty()) device.api = std::string(p->name());
      run.devices.push_back(std::move(device));
    }
  }
  return run;
}

}  // namespace tensority::hwdetect
