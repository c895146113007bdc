#include "tensority/hwdetect/system.hpp"

#include <exception>
#include <string>
#include <utility>

namespace tensority::hwdetect {

SystemInfo detect_system() {
  SystemInfo info;
  info.cpu.identity = detect_cpu_identity();
  info.cpu.features = detect_cpu_features();
  // A topology or probe failure (bad_alloc included) must not take the whole
  // report with it: the CLI prints whatever was found plus the reason.
  try {
    info.cpu.topology = detect_topology();
    info.notes.insert(info.notes.end(), info.cpu.topology.notes.begin(), info.cpu.topology.notes.end());
  } catch (const std::exception& e) {
    info.notes.push_back(std::string("topology: detection failed: ") + e.what());
  }
  try {
    ProbeRun run = run_probes();
    info.accelerators = std::move(run.devices);
    info.notes.insert(info.notes.end(), run.notes.begin(), run.notes.end());
  } catch (const std::exception& e) {
    info.notes.push_back(std::string("accelerators: probing failed: ") + e.what());
  }
  return info;
}

}  // namespace tensority::hwdetect
