#pragma once

// Accelerator discovery is open for extension: probes register here. hwdetect
// ships a "cuda" and an "opencl" probe (gpu_probes.hpp) that load their
// libraries with dlopen, so it never includes a GPU header or says
// #ifdef WITH_CUDA; other folders and run-time modules can add more.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tensority::hwdetect {

struct AcceleratorInfo {
  std::string api;   // "cuda", "opencl", ...
  std::string id;    // stable across runs and reboots: the PCI bus id for GPUs
  std::string name;
  std::string vendor;
  std::string driver_version;
  std::uint64_t memory_bytes = 0;
  unsigned compute_units = 0;  // SMs for CUDA, compute units for OpenCL
  unsigned clock_mhz = 0;
  std::map<std::string, std::string> properties;  // API-specific extras, e.g. "compute_capability"
};

struct ProbeResult {
  std::vector<AcceleratorInfo> devices;  // an empty api is filled with the probe's name
  std::string error;               // non-empty: the probe could not run (e.g. "driver not found"); devices are then ignored
  std::vector<std::string> notes;  // remarks that are not failures (e.g. a platform with no devices)

  [[nodiscard]] bool ok() const { return error.empty(); }
  [[nodiscard]] static ProbeResult failure(std::string why) {
    ProbeResult r;
    r.error = std::move(why);
    return r;
  }
};

// Probes may be compiled into a module that is loaded at run time, so they
// report failure through ProbeResult::error; an exception that escapes anyway
// is caught by detect_system() and turned into a note.
class AcceleratorProbe {
 public:
  AcceleratorProbe() = default;
  AcceleratorProbe(const AcceleratorProbe&) = delete;
  AcceleratorProbe& operator=(const AcceleratorProbe&) = delete;
  virtual ~AcceleratorProbe() = default;

  // Short and unique, used as the prefix of notes: "cuda", "opencl".
  [[nodiscard]] virtual std::string_view name() const = 0;
  [[nodiscard]] virtual ProbeResult probe() = 0;
};

// Adds a probe to the process-wide registry. Returns false (and drops the probe)
// when one with the same name is already registered, so a module loaded twice
// does not report its devices twice.
bool register_probe(std::unique_ptr<AcceleratorProbe> probe);

// Removes and returns the probe with this name, or nullptr. A module that
// registered a probe must call this before it is unloaded, because the registry
// would otherwise hold an object whose code is gone.
std::unique_ptr<AcceleratorProbe> unregister_probe(std::string_view name);

// Registers hwdetect's own probes ("cuda", then "opencl") the first time it
// is called; later calls do nothing. A static library drops object files that
// nothing references, so these probes are not self-registering statics:
// run_probes() and registered_probe_names() call this instead. Registration
// goes through register_probe, so a probe of the same name registered earlier
// (e.g. by a GPU backend module) keeps its place; one registered later must
// unregister_probe the built-in first. Thread-safe.
void ensure_builtin_probes();

// Names of the registered probes in registration order (built-ins included).
[[nodiscard]] std::vector<std::string> registered_probe_names();

// Runs every registered probe, built-ins included, in registration order.
// Errors become notes prefixed with the probe's name ("cuda: driver not found").
struct ProbeRun {
  std::vector<AcceleratorInfo> devices;
  std::vector<std::string> notes;
};
[[nodiscard]] ProbeRun run_probes();

// Registers a probe from a namespace-scope object:
//   static const tensority::hwdetect::ProbeRegistration<MyProbe> kMyProbe;
// A static library's object file is only linked when something references it,
// so put such a definition in an OBJECT library or a source the executable
// compiles, or its constructor never runs.
template <class Probe>
class ProbeRegistration {
 public:
  ProbeRegistration() { registered_ = register_probe(std::make_unique<Probe>()); }
  [[nodiscard]] bool registered() const { return registered_; }

 private:
  bool registered_ = false;
};

}  // namespace tensority::hwdetect
