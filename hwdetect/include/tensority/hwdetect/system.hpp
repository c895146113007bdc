#pragma once

// Everything hwdetect knows, gathered in one call, plus the two renderings the
// CLI prints: JSON for `tensority devices --json` and a text summary.

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "tensority/hwdetect/accelerator.hpp"
#include "tensority/hwdetect/cpu.hpp"
#include "tensority/hwdetect/topology.hpp"

namespace tensority::hwdetect {

struct CpuInfo {
  CpuIdentity identity;
  CpuFeatures features;
  CpuTopology topology;
};

struct SystemInfo {
  CpuInfo cpu;
  std::vector<AcceleratorInfo> accelerators;
  // Why something is missing or degraded, one line each, prefixed with the part
  // it concerns ("hwloc: ...", "cuda: driver not found").
  std::vector<std::string> notes;
};

// CPU identity, features and topology, then every registered accelerator probe.
// Never throws for a detection failure; failures end up in notes.
[[nodiscard]] SystemInfo detect_system();

[[nodiscard]] nlohmann::json to_json(const SystemInfo& info);

// A multi-line, human-readable report ending in a newline.
[[nodiscard]] std::string format_summary(const SystemInfo& info);

}  // namespace tensority::hwdetect
