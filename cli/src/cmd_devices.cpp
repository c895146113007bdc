// tensority devices: what hwdetect found and what each backend offers.
#include <cstdio>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "tensority/hwdetect/system.hpp"
#include "tensority/kernels/hal/registry.hpp"

namespace tensority::cli {
namespace {

int run_devices(bool json) {
  const auto system = hwdetect::detect_system();
  auto& registry = kernels::hal::builtin_registry();
  nlohmann::json devices = nlohmann::json::array();
  nlohmann::json backends = nlohmann::json::array();
  for (auto* backend : registry.backends()) {
    backends.push_back({{"name", std::string(backend->name())},
                        {"api_version", backend->api_version()},
                        {"notes", backend->notes()}});
    for (const auto& d : backend->devices()) {
      const auto& i = d->info();
      devices.push_back({{"backend", i.backend}, {"id", i.id}, {"name", i.name}, {"vendor", i.vendor},
                         {"memory_bytes", i.memory_bytes}, {"compute_units", i.compute_units},
                         {"kernel", i.kernel}, {"notes", i.notes}});
    }
  }
  if (json) {
    nlohmann::json j{{"system", hwdetect::to_json(system)}, {"backends", backends}, {"devices", devices}};
    std::puts(j.dump(2).c_str());
    return kExitOk;
  }
  std::fputs(hwdetect::format_summary(system).c_str(), stdout);
  fmt::print("\nMining devices:\n");
  for (const auto& d : devices) {
    fmt::print("  {:<10} {}  [{}]  {} compute units, kernel {}\n", d["id"].get<std::string>(),
               d["name"].get<std::string>(), d["backend"].get<std::string>(),
               d["compute_units"].get<unsigned>(), d["kernel"].get<std::string>());
    for (const auto& n : d["notes"]) fmt::print("             note: {}\n", n.get<std::string>());
  }
  for (const auto& b : backends) {
    for (const auto& n : b["notes"]) fmt::print("  {}: {}\n", b["name"].get<std::string>(), n.get<std::string>());
  }
  return kExitOk;
}

}  // namespace

Runner add_devices(CLI::App& app) {
  auto json = std::make_shared<bool>(false);
  auto* sub = app.add_subcommand("devices", "List the hardware and the mining devices found");
  sub->add_flag("--json", *json, "print JSON");
  return [json] { return run_devices(*json); };
}

}  // namespace tensority::cli
