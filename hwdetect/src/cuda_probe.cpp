// The "cuda" probe: NVIDIA GPUs through the CUDA driver API, loaded with
// dlopen. The driver API (libcuda, installed with the driver) is used rather
// than the runtime (libcudart, part of the toolkit) because a mining machine
// has the driver but rarely the toolkit. Prototypes and constants are
// declared here with their cuda.h values, so no CUDA header is needed.

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dynlib.hpp"
#include "tensority/hwdetect/gpu_probes.hpp"
#include "tensority/hwdetect/gpu_sensors.hpp"
#include "tensority/hwdetect/pci.hpp"

namespace tensority::hwdetect {
namespace {

using CUresult = int;  // enum cudaError_enum
using CUdevice = int;

constexpr CUresult kCudaSuccess = 0;
constexpr CUresult kCudaErrorStubLibrary = 34;  // CUDA_ERROR_STUB_LIBRARY
constexpr CUresult kCudaErrorNoDevice = 100;    // CUDA_ERROR_NO_DEVICE

// CUdevice_attribute values.
constexpr int kAttrClockRateKhz = 13;               // CU_DEVICE_ATTRIBUTE_CLOCK_RATE
constexpr int kAttrMultiprocessorCount = 16;        // CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT
constexpr int kAttrL2CacheSize = 38;                // CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE
constexpr int kAttrComputeCapabilityMajor = 75;     // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
constexpr int kAttrComputeCapabilityMinor = 76;     // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR
constexpr int kAttrMaxSharedMemoryPerSm = 81;       // CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR

struct CudaApi {
  CUresult (*init)(unsigned) = nullptr;
  CUresult (*driver_get_version)(int*) = nullptr;
  CUresult (*device_get_count)(int*) = nullptr;
  CUresult (*device_get)(CUdevice*, int) = nullptr;
  CUresult (*device_get_name)(char*, int, CUdevice) = nullptr;
  CUresult (*device_total_mem)(std::size_t*, CUdevice) = nullptr;  // cuDeviceTotalMem_v2: size_t, not unsigned
  CUresult (*device_get_attribute)(int*, int, CUdevice) = nullptr;
  CUresult (*device_get_pci_bus_id)(char*, int, CUdevice) = nullptr;
  CUresult (*get_error_name)(CUresult, const char**) = nullptr;    // optional
  CUresult (*get_error_string)(CUresult, const char**) = nullptr;  // optional
  std::string error;  // non-empty: the driver cannot be used in this process
};

CudaApi load_cuda() {
  CudaApi api;
  // libcuda.so.1 is what the driver installs; plain libcuda.so is also the
  // toolkit's stub, which cuInit then rejects with CUDA_ERROR_STUB_LIBRARY.
  const detail::OpenedLibrary lib = detail::open_library({"libcuda.so.1", "libcuda.so"});
  if (lib.handle == nullptr) {
    api.error = "NVIDIA driver not found (" + lib.error + ")";
    return api;
  }
  detail::resolve(lib.handle, "cuGetErrorName", api.get_error_name);
  detail::resolve(lib.handle, "cuGetErrorString", api.get_error_string);
  struct Required {
    const char* name;
    bool found;
  };
  const Required required[] = {
      {"cuInit", detail::resolve(lib.handle, "cuInit", api.init)},
      {"cuDriverGetVersion", detail::resolve(lib.handle, "cuDriverGetVersion", api.driver_get_version)},
      {"cuDeviceGetCount", detail::resolve(lib.handle, "cuDeviceGetCount", api.device_get_count)},
      {"cuDeviceGet", detail::resolve(lib.handle, "cuDeviceGet", api.device_get)},
      {"cuDeviceGetName", detail::resolve(lib.handle, "cuDeviceGetName", api.device_get_name)},
      {"cuDeviceTotalMem_v2", detail::resolve(lib.handle, "cuDeviceTotalMem_v2", api.device_total_mem)},
      {"cuDeviceGetAttribute", detail::resolve(lib.handle, "cuDeviceGetAttribute", api.device_get_attribute)},
      {"cuDeviceGetPCIBusId", detail::resolve(lib.handle, "cuDeviceGetPCIBusId", api.device_get_pci_bus_id)},
  };
  for (const auto& r : required) {
    if (!r.found) {
      api.error = std::string("NVIDIA driver too old: libcuda lacks ") + r.name;
      break;
    }
  }
  return api;
}

const CudaApi& cuda() {
  static const CudaApi api = load_cuda();  // thread-safe one-time load; never dlclosed
  return api;
}

// "CUDA_ERROR_NO_DEVICE (100): no CUDA-capable device is detected"
std::string describe(const CudaApi& api, CUresult rc) {
  const char* name = nullptr;
  const char* text = nullptr;
  if (api.get_error_name == nullptr || api.get_error_name(rc, &name) != kCudaSuccess) name = nullptr;
  if (api.get_error_string == nullptr || api.get_error_string(rc, &text) != kCudaSuccess) text = nullptr;
  std::string out = name != nullptr ? std::string(name) + " (" + std::to_string(rc) + ")"
                                    : "error " + std::to_string(rc);
  if (text != nullptr) out += std::string(": ") + text;
  return out;
}

// 13000 -> "13.0", 12040 -> "12.4": cuda.h encodes 1000 * major + 10 * minor.
std::string format_driver_version(int v) {
  return std::to_string(v / 1000) + '.' + std::to_string((v % 1000) / 10);
}

std::optional<int> attribute(const CudaApi& api, CUdevice dev, int attr) {
  int value = 0;
  if (api.device_get_attribute(&value, attr, dev) != kCudaSuccess) return std::nullopt;
  return value;
}

// The driver fills a caller-sized buffer; one spare, zeroed byte keeps the
// result terminated even if it writes exactly `size` bytes.
template <std::size_t N, class Fn>
std::optional<std::string> bounded_string(Fn&& fill) {
  char buf[N + 1] = {};
  if (fill(buf, static_cast<int>(N)) != kCudaSuccess) return std::nullopt;
  return std::string(buf, std::find(buf, buf + N, '\0'));
}

std::string format_watts(double w) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", w);
  return buf;
}

void add_note_once(std::vector<std::string>& notes, std::string note) {
  if (std::find(notes.begin(), notes.end(), note) == notes.end()) notes.push_back(std::move(note));
}

void add_sensors(AcceleratorInfo& info, std::vector<std::string>& notes) {
  const GpuSensors s = read_nvidia_sensors(info.id);
  if (!s.error.empty()) {
    add_note_once(notes, s.error);  // "NVML not found" once, not once per GPU
    return;
  }
  auto& p = info.properties;
  if (s.temperature_c) p["temperature_c"] = std::to_string(*s.temperature_c);
  if (s.power_w) p["power_w"] = format_watts(*s.power_w);
  if (s.fan_percent) p["fan_percent"] = std::to_string(*s.fan_percent);
  if (s.sm_clock_mhz) p["sm_clock_mhz"] = std::to_string(*s.sm_clock_mhz);
  if (s.mem_clock_mhz) p["mem_clock_mhz"] = std::to_string(*s.mem_clock_mhz);
}

class CudaProbe final : public AcceleratorProbe {
 public:
  [[nodiscard]] std::string_view name() const override { return "cuda"; }

  [[nodiscard]] ProbeResult probe() override {
    const CudaApi& api = cuda();
    if (!api.error.empty()) return ProbeResult::failure(api.error);

    ProbeResult result;
    // cuInit is cheap after the first call, and calling it every time lets a
    // process that started before the driver was ready see it later.
    if (const CUresult rc = api.init(0); rc != kCudaSuccess) {
      if (rc == kCudaErrorNoDevice) {
        result.notes.push_back("no CUDA devices (cuInit: " + describe(api, rc) + ")");
        return result;
      }
      std::string why = "cuInit failed: " + describe(api, rc);
      if (rc == kCudaErrorStubLibrary) why += "; the CUDA toolkit's stub libcuda.so was loaded, not the NVIDIA driver";
      return ProbeResult::failure(std::move(why));
    }

    std::string driver_version;
    if (int v = 0; api.driver_get_version(&v) == kCudaSuccess && v > 0) driver_version = format_driver_version(v);

    int count = 0;
    if (const CUresult rc = api.device_get_count(&count); rc != kCudaSuccess) {
      return ProbeResult::failure("cuDeviceGetCount failed: " + describe(api, rc));
    }
    if (count <= 0) {
      result.notes.emplace_back("no CUDA devices");
      return result;
    }

    for (int ordinal = 0; ordinal < count; ++ordinal) {
      const std::string where = "cuda:" + std::to_string(ordinal) + ": ";
      CUdevice dev = 0;
      if (const CUresult rc = api.device_get(&dev, ordinal); rc != kCudaSuccess) {
        result.notes.push_back(where + "cuDeviceGet failed: " + describe(api, rc));
        continue;
      }

      AcceleratorInfo info;
      info.api = "cuda";
      info.vendor = "NVIDIA";
      info.driver_version = driver_version;
      info.properties["index"] = std::to_string(ordinal);

      // The id must survive reboots and renumbering (CUDA_VISIBLE_DEVICES,
      // CUDA_DEVICE_ORDER), which the bus id does and the ordinal does not.
      const auto bus_id = bounded_string<32>([&](char* b, int n) { return api.device_get_pci_bus_id(b, n, dev); });
      if (bus_id) {
        // Keep the driver's text if it is ever in a form the parser does not know.
        std::string lowered = *bus_id;
        std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                       [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c); });
        info.id = normalize_pci_bus_id(*bus_id).value_or(lowered);
      } else {
        info.id = "cuda:" + std::to_string(ordinal);
        result.notes.push_back(where + "cuDeviceGetPCIBusId failed; using the ordinal as id");
      }

      if (auto n = bounded_string<256>([&](char* b, int len) { return api.device_get_name(b, len, dev); })) {
        info.name = std::move(*n);
      }
      if (std::size_t bytes = 0; api.device_total_mem(&bytes, dev) == kCudaSuccess) info.memory_bytes = bytes;
      if (auto sms = attribute(api, dev, kAttrMultiprocessorCount); sms && *sms > 0) {
        info.compute_units = static_cast<unsigned>(*sms);
      }
      if (auto khz = attribute(api, dev, kAttrClockRateKhz); khz && *khz > 0) {
        info.clock_mhz = static_cast<unsigned>(*khz / 1000);
      }
      const auto major = attribute(api, dev, kAttrComputeCapabilityMajor);
      const auto minor = attribute(api, dev, kAttrComputeCapabilityMinor);
      if (major && minor) {
        info.properties["compute_capability"] = std::to_string(*major) + '.' + std::to_string(*minor);
      }
      if (auto l2 = attribute(api, dev, kAttrL2CacheSize)) info.properties["l2_bytes"] = std::to_string(*l2);
      if (auto smem = attribute(api, dev, kAttrMaxSharedMemoryPerSm)) {
        info.properties["smem_per_sm_bytes"] = std::to_string(*smem);
      }

      if (bus_id) add_sensors(info, result.notes);
      result.devices.push_back(std::move(info));
    }
    return result;
  }
};

}  // namespace

std::unique_ptr<AcceleratorProbe> make_cuda_probe() { return std::make_unique<CudaProbe>(); }

}  // namespace tensority::hwdetect
