#include "tensority/kernels/hal/registry.hpp"

#include <set>

namespace tensority::kernels::hal {

void Registry::add(std::string name, Factory factory) {
  entries_.push_back(Entry{std::move(name), std::move(factory), nullptr});
}

std::vector<Backend*> Registry::backends() {
  std::vector<Backend*> out;
  for (Entry& e : entries_) {
    if (!e.instance) e.instance = e.factory();
    if (e.instance) out.push_back(e.instance.get());
  }
  return out;
}

Backend* Registry::backend(std::string_view name) {
  for (Backend* b : backends()) {
    if (b->name() == name) return b;
  }
  return nullptr;
}

std::vector<std::shared_ptr<Device>> Registry::devices() {
  std::vector<std::shared_ptr<Device>> out;
  for (Backend* b : backends()) {
    for (auto& d : b->devices()) out.push_back(std::move(d));
  }
  return out;
}

core::Result<std::vector<std::shared_ptr<Device>>> Registry::select(std::string_view selector) {
  using R = core::Result<std::vector<std::shared_ptr<Device>>>;
  if (selector == "all") {
    // One GPU can be reachable through CUDA and OpenCL; mining it twice would only split
    // it. The first backend to list a stable id (registration order: cpu, cuda, opencl)
    // keeps it.
    std::vector<std::shared_ptr<Device>> out;
    std::set<std::string> seen;
    for (auto& d : devices()) {
      const auto& info = d->info();
      if (!info.in_all) continue;
      if (!info.stable_id.empty() && !seen.insert(info.stable_id).second) continue;
      out.push_back(std::move(d));
    }
    return out;
  }
  std::string known;
  for (Backend* b : backends()) {
    known += (known.empty() ? "" : ", ") + std::string(b->name());
    if (b->name() == selector) {
      auto list = b->devices();
      if (list.empty()) return R::failure("backend '" + std::string(selector) + "' found no devices");
      return list;
    }
    for (auto& d : b->devices()) {
      if (d->info().id == selector) return std::vector<std::shared_ptr<Device>>{d};
    }
  }
  return R::failure("unknown device '" + std::string(selector) + "' (backends built in: " + known +
                    "; use a backend name (cpu, cuda, opencl), a device id (cpu:0, cuda:N, opencl:P:D), or all)");
}

std::vector<std::string> Registry::backend_names() const {
  std::vector<std::string> out;
  for (const Entry& e : entries_) out.push_back(e.name);
  return out;
}

}  // namespace tensority::kernels::hal
