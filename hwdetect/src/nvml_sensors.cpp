// NVML sensor readings through dlopen. The few NVML types and constants used
// are declared here (values from nvml.h) so no NVIDIA header is needed.

#include <string>

#include "dynlib.hpp"
#include "tensority/hwdetect/gpu_sensors.hpp"
#include "tensority/hwdetect/pci.hpp"

namespace tensority::hwdetect {
namespace {

using nvmlReturn_t = int;  // an enum in nvml.h; int-sized on every ABI NVML ships for
struct NvmlDeviceOpaque;
using nvmlDevice_t = NvmlDeviceOpaque*;

constexpr nvmlReturn_t kNvmlSuccess = 0;
constexpr int kNvmlTemperatureGpu = 0;  // NVML_TEMPERATURE_GPU
constexpr int kNvmlClockSm = 1;         // NVML_CLOCK_SM (0 is GRAPHICS, 2 is MEM)
constexpr int kNvmlClockMem = 2;        // NVML_CLOCK_MEM

struct NvmlApi {
  nvmlReturn_t (*init)() = nullptr;                                              // nvmlInit_v2
  const char* (*error_string)(nvmlReturn_t) = nullptr;                           // optional
  nvmlReturn_t (*handle_by_pci_bus_id)(const char*, nvmlDevice_t*) = nullptr;    // _v2
  nvmlReturn_t (*temperature)(nvmlDevice_t, int, unsigned*) = nullptr;
  nvmlReturn_t (*power_usage)(nvmlDevice_t, unsigned*) = nullptr;  // milliwatts
  nvmlReturn_t (*fan_speed)(nvmlDevice_t, unsigned*) = nullptr;    // percent
  nvmlReturn_t (*clock_info)(nvmlDevice_t, int, unsigned*) = nullptr;  // MHz
  std::string error;  // non-empty: NVML is unusable in this process
};

std::string describe(const NvmlApi& api, nvmlReturn_t rc) {
  std::string out = "error " + std::to_string(rc);
  if (api.error_string != nullptr) {
    if (const char* text = api.error_string(rc); text != nullptr) out += " (" + std::string(text) + ")";
  }
  return out;
}

NvmlApi load_nvml() {
  NvmlApi api;
  const detail::OpenedLibrary lib = detail::open_library({"libnvidia-ml.so.1", "libnvidia-ml.so"});
  if (lib.handle == nullptr) {
    api.error = "NVML not found: sensors unavailable (" + lib.error + ")";
    return api;
  }
  detail::resolve(lib.handle, "nvmlErrorString", api.error_string);
  const bool complete = detail::resolve(lib.handle, "nvmlInit_v2", api.init) &&
                        detail::resolve(lib.handle, "nvmlDeviceGetHandleByPciBusId_v2", api.handle_by_pci_bus_id) &&
                        detail::resolve(lib.handle, "nvmlDeviceGetTemperature", api.temperature) &&
                        detail::resolve(lib.handle, "nvmlDeviceGetPowerUsage", api.power_usage) &&
                        detail::resolve(lib.handle, "nvmlDeviceGetFanSpeed", api.fan_speed) &&
                        detail::resolve(lib.handle, "nvmlDeviceGetClockInfo", api.clock_info);
  if (!complete) {
    api.error = "NVML too old: sensors unavailable (a required function is missing from libnvidia-ml)";
    return api;
  }
  // Initialised once and never shut down: NVML is reference counted and
  // thread-safe, nvmlInit is slow, and process exit releases it.
  if (const nvmlReturn_t rc = api.init(); rc != kNvmlSuccess) {
    api.error = "nvmlInit failed: " + describe(api, rc) + ": sensors unavailable";
  }
  return api;
}

const NvmlApi& nvml() {
  static const NvmlApi api = load_nvml();  // thread-safe one-time load
  return api;
}

}  // namespace

GpuSensors read_nvidia_sensors(const std::string& pci_bus_id) {
  GpuSensors s;
  const auto address = parse_pci_bus_id(pci_bus_id);
  if (!address) {
    s.error = "not a PCI bus id: '" + pci_bus_id + "'";
    return s;
  }
  const NvmlApi& api = nvml();
  if (!api.error.empty()) {
    s.error = api.error;
    return s;
  }
  const std::string nvml_id = format_nvml_bus_id(*address);
  nvmlDevice_t device = nullptr;
  if (const nvmlReturn_t rc = api.handle_by_pci_bus_id(nvml_id.c_str(), &device); rc != kNvmlSuccess) {
    s.error = "NVML: no GPU at " + nvml_id + ": " + describe(api, rc);
    return s;
  }

  // Each reading on its own: boards differ in what they expose (no fan on an
  // H100, no power sensor on some laptop parts), and NOT_SUPPORTED is normal.
  unsigned value = 0;
  if (api.temperature(device, kNvmlTemperatureGpu, &value) == kNvmlSuccess) {
    s.temperature_c = static_cast<int>(value);
  }
  if (api.power_usage(device, &value) == kNvmlSuccess) s.power_w = static_cast<double>(value) / 1000.0;
  if (api.fan_speed(device, &value) == kNvmlSuccess) s.fan_percent = static_cast<int>(value);
  if (api.clock_info(device, kNvmlClockSm, &value) == kNvmlSuccess) s.sm_clock_mhz = value;
  if (api.clock_info(device, kNvmlClockMem, &value) == kNvmlSuccess) s.mem_clock_mhz = value;
  return s;
}

}  // namespace tensority::hwdetect
