#pragma once

// What Linux itself says about the machine (/proc/cpuinfo, sysfs, the affinity
// syscalls), read independently of hwdetect so the tests compare two sources.
// Every reader returns an empty result where the file is missing, and the
// tests skip in that case rather than pass vacuously.

#include <cstdint>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#if defined(__linux__)
#include <sched.h>
#endif

namespace tensority::hwdetect::test {

inline std::string trim(std::string s) {
  const auto first = s.find_first_not_of(" \t\n");
  if (first == std::string::npos) return {};
  const auto last = s.find_last_not_of(" \t\n");
  return s.substr(first, last - first + 1);
}

// The value of the first "key : value" line of /proc/cpuinfo with this key.
inline std::optional<std::string> cpuinfo_field(const std::string& key) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    if (trim(line.substr(0, colon)) == key) return trim(line.substr(colon + 1));
  }
  return std::nullopt;
}

inline std::set<std::string> cpuinfo_flags() {
  std::set<std::string> flags;
  if (const auto line = cpuinfo_field("flags")) {
    std::istringstream words(*line);
    std::string w;
    while (words >> w) flags.insert(w);
  }
  return flags;
}

inline std::optional<std::string> read_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  return trim(line);
}

// Parses the kernel's "0-3,8,10-11" CPU list format.
inline std::vector<unsigned> parse_cpu_list(const std::string& text) {
  std::vector<unsigned> out;
  std::istringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    part = trim(part);
    if (part.empty()) continue;
    const auto dash = part.find('-');
    const unsigned lo = static_cast<unsigned>(std::stoul(part.substr(0, dash)));
    const unsigned hi = dash == std::string::npos ? lo : static_cast<unsigned>(std::stoul(part.substr(dash + 1)));
    for (unsigned i = lo; i <= hi; ++i) out.push_back(i);
  }
  return out;
}

inline std::string cpu_dir(unsigned cpu) { return "/sys/devices/system/cpu/cpu" + std::to_string(cpu); }

inline std::vector<unsigned> online_cpus() {
  const auto line = read_line("/sys/devices/system/cpu/online");
  return line ? parse_cpu_list(*line) : std::vector<unsigned>{};
}

// (physical_package_id, core_id): the pair that names a core in sysfs.
inline std::optional<std::pair<int, int>> sysfs_core_of(unsigned cpu) {
  const auto pkg = read_line(cpu_dir(cpu) + "/topology/physical_package_id");
  const auto core = read_line(cpu_dir(cpu) + "/topology/core_id");
  if (!pkg || !core) return std::nullopt;
  return std::pair{std::stoi(*pkg), std::stoi(*core)};
}

// sysfs sizes look like "48K" or "32768K".
inline std::uint64_t parse_sysfs_size(const std::string& s) {
  std::uint64_t value = std::stoull(s);
  switch (s.empty() ? ' ' : s.back()) {
    case 'K': value <<= 10; break;
    case 'M': value <<= 20; break;
    case 'G': value <<= 30; break;
    default: break;
  }
  return value;
}

// The calling thread's affinity as a sorted list of CPU numbers.
inline std::vector<unsigned> thread_affinity() {
  std::vector<unsigned> out;
#if defined(__linux__)
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return out;
  for (unsigned i = 0; i < CPU_SETSIZE; ++i) {
    if (CPU_ISSET(i, &set)) out.push_back(i);
  }
#endif
  return out;
}

}  // namespace tensority::hwdetect::test
