// JSON and text renderings of SystemInfo. The JSON mirrors the struct field
// names so scripts reading `tensority devices --json` can follow the headers.

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tensority/hwdetect/system.hpp"

namespace tensority::hwdetect {
namespace {

nlohmann::json cache_json(const CacheInfo& c) {
  return {{"level", c.level},
          {"kind", to_string(c.kind)},
          {"size_bytes", c.size_bytes},
          {"line_bytes", c.line_bytes},
          {"count", c.count},
          {"cores_per_instance", c.cores_per_instance}};
}

nlohmann::json topology_json(const CpuTopology& t) {
  nlohmann::json j{{"source", t.source},
                   {"package_count", t.package_count},
                   {"core_count", t.core_count},
                   {"thread_count", t.thread_count}};
  auto& nodes = j["numa_nodes"] = nlohmann::json::array();
  for (const auto& n : t.numa_nodes) {
    nodes.push_back({{"os_index", n.os_index}, {"memory_bytes", n.memory_bytes}, {"pus", n.pus}});
  }
  auto& caches = j["caches"] = nlohmann::json::array();
  for (const auto& c : t.caches) caches.push_back(cache_json(c));
  auto& cores = j["cores"] = nlohmann::json::array();
  for (const auto& c : t.cores) {
    // JSON null reads better than -1 for "unknown" to a script.
    nlohmann::json numa = c.numa_node >= 0 ? nlohmann::json(c.numa_node) : nlohmann::json(nullptr);
    cores.push_back({{"index", c.index}, {"package", c.package}, {"numa_node", numa}, {"pus", c.pus}});
  }
  return j;
}

nlohmann::json accelerator_json(const AcceleratorInfo& a) {
  return {{"api", a.api},
          {"id", a.id},
          {"name", a.name},
          {"vendor", a.vendor},
          {"driver_version", a.driver_version},
          {"memory_bytes", a.memory_bytes},
          {"compute_units", a.compute_units},
          {"clock_mhz", a.clock_mhz},
          {"properties", a.properties}};
}

std::string format_bytes(std::uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  std::size_t unit = 0;
  std::uint64_t whole = bytes;
  while (whole >= 1024 && whole % 1024 == 0 && unit + 1 < std::size(kUnits)) {
    whole /= 1024;
    ++unit;
  }
  if (whole < 1024 || unit + 1 == std::size(kUnits)) return std::to_string(whole) + " " + kUnits[unit];
  // Not a whole number of the next unit (typical for RAM): one decimal is enough.
  double value = static_cast<double>(bytes);
  unit = 0;
  while (value >= 1024.0 && unit + 1 < std::size(kUnits)) {
    value /= 1024.0;
    ++unit;
  }
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(1);
  out << value << ' ' << kUnits[unit];
  return out.str();
}

// "0-3,8,10-11": the form taskset and numactl accept.
std::string format_index_list(const std::vector<unsigned>& v) {
  std::string out;
  for (std::size_t i = 0; i < v.size();) {
    std::size_t j = i;
    while (j + 1 < v.size() && v[j + 1] == v[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(v[i]);
    if (j > i) out += '-' + std::to_string(v[j]);
    i = j + 1;
  }
  return out;
}

std::string plural(unsigned n, const char* word) {
  return std::to_string(n) + ' ' + word + (n == 1 ? "" : "s");
}

std::string cache_label(const CacheInfo& c) {
  // Appending instead of "L" + to_string(...) sidesteps GCC 12's false -Wrestrict (PR 105329).
  std::string label = "L";
  label += std::to_string(c.level);
  if (c.kind == CacheKind::data) label += 'd';
  if (c.kind == CacheKind::instruction) label += 'i';
  return label;
}

}  // namespace

nlohmann::json to_json(const SystemInfo& info) {
  const CpuInfo& cpu = info.cpu;
  nlohmann::json features = nlohmann::json::array();
  for (const auto name : cpu.features.names()) features.push_back(name);

  nlohmann::json j;
  j["cpu"] = {{"vendor", cpu.identity.vendor},
              {"brand", cpu.identity.brand},
              {"family", cpu.identity.family},
              {"model", cpu.identity.model},
              {"stepping", cpu.identity.stepping},
              {"features", std::move(features)},
              {"topology", topology_json(cpu.topology)}};
  auto& accelerators = j["accelerators"] = nlohmann::json::array();
  for (const auto& a : info.accelerators) accelerators.push_back(accelerator_json(a));
  j["notes"] = info.notes;
  return j;
}

std::string format_summary(const SystemInfo& info) {
  const CpuInfo& cpu = info.cpu;
  const CpuTopology& t = cpu.topology;
  std::ostringstream out;

  out << "CPU: " << (cpu.identity.brand.empty() ? std::string("unknown model") : cpu.identity.brand);
  if (!cpu.identity.vendor.empty()) {
    out << " (" << cpu.identity.vendor << " family " << cpu.identity.family << " model " << cpu.identity.model
        << " stepping " << cpu.identity.stepping << ')';
  }
  out << '\n';

  out << "  topology: " << plural(t.package_count, "package") << ", " << plural(t.core_count, "core") << ", "
      << plural(t.thread_count, "thread");
  if (!t.numa_nodes.empty()) out << ", " << plural(static_cast<unsigned>(t.numa_nodes.size()), "NUMA node");
  out << " [" << t.source << "]\n";

  for (const auto& n : t.numa_nodes) {
    out << "  NUMA node " << n.os_index << ": ";
    if (n.memory_bytes != 0) out << format_bytes(n.memory_bytes) << ", ";
    out << "CPUs " << format_index_list(n.pus) << '\n';
  }

  if (!t.caches.empty()) {
    out << "  caches:";
    const char* sep = " ";
    for (const auto& c : t.caches) {
      out << sep << cache_label(c) << ' ' << format_bytes(c.size_bytes) << " x" << c.count;
      if (c.cores_per_instance > 1) {
        out << " (shared by " << c.cores_per_instance << " cores)";
      } else {
        out << " (per core)";
      }
      sep = "; ";
    }
    out << '\n';
  }

  const auto names = cpu.features.names();
  out << "  features:";
  if (names.empty()) out << " none of interest";
  for (const auto name : names) out << ' ' << name;
  out << '\n';

  out << "Accelerators:";
  if (info.accelerators.empty()) out << " none";
  out << '\n';
  for (const auto& a : info.accelerators) {
    out << "  [" << a.api << "] " << (a.name.empty() ? std::string("unnamed device") : a.name);
    if (!a.id.empty()) out << " (" << a.id << ')';
    std::vector<std::string> facts;
    if (!a.vendor.empty()) facts.push_back(a.vendor);
    if (a.memory_bytes != 0) facts.push_back(format_bytes(a.memory_bytes));
    if (a.compute_units != 0) facts.push_back(plural(a.compute_units, "compute unit"));
    if (a.clock_mhz != 0) facts.push_back(std::to_string(a.clock_mhz) + " MHz");
    if (!a.driver_version.empty()) facts.push_back("driver " + a.driver_version);
    for (std::size_t i = 0; i < facts.size(); ++i) out << (i == 0 ? ": " : ", ") << facts[i];
    out << '\n';
  }

  if (!info.notes.empty()) {
    out << "Notes:\n";
    for (const auto& note : info.notes) out << "  - " << note << '\n';
  }
  return out.str();
}

}  // namespace tensority::hwdetect
