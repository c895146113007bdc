// The "opencl" probe: every device of every installed OpenCL platform, through
// the ICD loader opened with dlopen. Types and constants are declared here
// with their CL/cl.h and CL/cl_ext.h values, so no OpenCL header is needed.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dynlib.hpp"
#include "tensority/hwdetect/gpu_probes.hpp"
#include "tensority/hwdetect/pci.hpp"

namespace tensority::hwdetect {
namespace {

using cl_int = std::int32_t;
using cl_uint = std::uint32_t;
using cl_ulong = std::uint64_t;
struct ClPlatformOpaque;
struct ClDeviceOpaque;
using cl_platform_id = ClPlatformOpaque*;
using cl_device_id = ClDeviceOpaque*;

constexpr cl_int kClSuccess = 0;
constexpr cl_int kClDeviceNotFound = -1;
constexpr cl_int kClPlatformNotFoundKhr = -1001;

constexpr cl_uint kClPlatformVersion = 0x0901;
constexpr cl_uint kClPlatformName = 0x0902;
constexpr cl_uint kClPlatformVendor = 0x0903;

constexpr cl_ulong kClDeviceTypeCpu = 1u << 1;
constexpr cl_ulong kClDeviceTypeGpu = 1u << 2;
constexpr cl_ulong kClDeviceTypeAccelerator = 1u << 3;
constexpr cl_ulong kClDeviceTypeCustom = 1u << 4;
constexpr cl_ulong kClDeviceTypeAll = 0xFFFFFFFF;

constexpr cl_uint kClDeviceType = 0x1000;
constexpr cl_uint kClDeviceMaxComputeUnits = 0x1002;
constexpr cl_uint kClDeviceMaxWorkGroupSize = 0x1004;
constexpr cl_uint kClDeviceMaxClockFrequency = 0x100C;  // MHz
constexpr cl_uint kClDeviceGlobalMemSize = 0x101F;
constexpr cl_uint kClDeviceLocalMemSize = 0x1023;
constexpr cl_uint kClDeviceName = 0x102B;
constexpr cl_uint kClDeviceVendor = 0x102C;
constexpr cl_uint kClDriverVersion = 0x102D;
constexpr cl_uint kClDeviceVersion = 0x102F;
constexpr cl_uint kClDeviceExtensions = 0x1030;
constexpr cl_uint kClDevicePciBusInfoKhr = 0x410F;

struct ClPciBusInfoKhr {  // cl_device_pci_bus_info_khr
  cl_uint domain, bus, device, function;
};

// A broken ICD could report absurd counts or string sizes; nothing real comes
// near these, and they keep every allocation small.
constexpr cl_uint kMaxPlatforms = 64;
constexpr cl_uint kMaxDevicesPerPlatform = 256;
constexpr std::size_t kMaxInfoString = 64 * 1024;

struct OpenClApi {
  cl_int (*get_platform_ids)(cl_uint, cl_platform_id*, cl_uint*) = nullptr;
  cl_int (*get_platform_info)(cl_platform_id, cl_uint, std::size_t, void*, std::size_t*) = nullptr;
  cl_int (*get_device_ids)(cl_platform_id, cl_ulong, cl_uint, cl_device_id*, cl_uint*) = nullptr;
  cl_int (*get_device_info)(cl_device_id, cl_uint, std::size_t, void*, std::size_t*) = nullptr;
  std::string error;
};

OpenClApi load_opencl() {
  OpenClApi api;
  const detail::OpenedLibrary lib = detail::open_library({"libOpenCL.so.1", "libOpenCL.so"});
  if (lib.handle == nullptr) {
    api.error = "OpenCL ICD loader not found (" + lib.error + ")";
    return api;
  }
  const bool complete = detail::resolve(lib.handle, "clGetPlatformIDs", api.get_platform_ids) &&
                        detail::resolve(lib.handle, "clGetPlatformInfo", api.get_platform_info) &&
                        detail::resolve(lib.handle, "clGetDeviceIDs", api.get_device_ids) &&
                        detail::resolve(lib.handle, "clGetDeviceInfo", api.get_device_info);
  if (!complete) api.error = "libOpenCL lacks a core OpenCL 1.0 function";
  return api;
}

const OpenClApi& opencl() {
  // Loaded once and never closed: ICDs (the vendors' drivers the loader
  // opens in turn) do not expect to be unloaded.
  static const OpenClApi api = load_opencl();
  return api;
}

std::string describe(cl_int rc) {
  const char* name = nullptr;
  switch (rc) {
    case -1: name = "CL_DEVICE_NOT_FOUND"; break;
    case -2: name = "CL_DEVICE_NOT_AVAILABLE"; break;
    case -5: name = "CL_OUT_OF_RESOURCES"; break;
    case -6: name = "CL_OUT_OF_HOST_MEMORY"; break;
    case -30: name = "CL_INVALID_VALUE"; break;
    case -32: name = "CL_INVALID_PLATFORM"; break;
    case -33: name = "CL_INVALID_DEVICE"; break;
    case -1001: name = "CL_PLATFORM_NOT_FOUND_KHR"; break;
    default: break;
  }
  return name != nullptr ? std::string(name) + " (" + std::to_string(rc) + ")" : "error " + std::to_string(rc);
}

// Size first, then the text into a buffer of exactly that size. Empty on any
// failure: a missing name is not worth failing the device over.
template <class Handle>
std::string info_string(cl_int (*get)(Handle, cl_uint, std::size_t, void*, std::size_t*), Handle h, cl_uint param) {
  std::size_t size = 0;
  if (get(h, param, 0, nullptr, &size) != kClSuccess || size == 0 || size > kMaxInfoString) return {};
  std::string text(size, '\0');
  if (get(h, param, size, text.data(), nullptr) != kClSuccess) return {};
  text.resize(std::min(text.find('\0'), text.size()));
  // Some drivers pad names with spaces (older Intel and AMD CPU runtimes).
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

// Fixed-size values; std::nullopt when the call fails. T must be the exact
// type cl.h gives the parameter (cl_uint, cl_ulong, size_t, a struct).
template <class T>
std::optional<T> device_value(const OpenClApi& api, cl_device_id d, cl_uint param) {
  T value{};
  if (api.get_device_info(d, param, sizeof value, &value, nullptr) != kClSuccess) return std::nullopt;
  return value;
}

std::string device_type_name(cl_ulong type) {
  // A device reports one type plus possibly CL_DEVICE_TYPE_DEFAULT.
  if (type & kClDeviceTypeGpu) return "gpu";
  if (type & kClDeviceTypeCpu) return "cpu";
  if (type & kClDeviceTypeAccelerator) return "accelerator";
  if (type & kClDeviceTypeCustom) return "custom";
  return "unknown";
}

bool has_extension(const std::string& list, std::string_view ext) {
  std::size_t pos = 0;
  while ((pos = list.find(ext, pos)) != std::string::npos) {
    const bool starts = pos == 0 || list[pos - 1] == ' ';
    const std::size_t end = pos + ext.size();
    if (starts && (end == list.size() || list[end] == ' ')) return true;
    pos = end;
  }
  return false;
}

AcceleratorInfo describe_device(const OpenClApi& api, cl_device_id d) {
  AcceleratorInfo info;
  info.api = "opencl";
  info.name = info_string(api.get_device_info, d, kClDeviceName);
  info.vendor = info_string(api.get_device_info, d, kClDeviceVendor);
  info.driver_version = info_string(api.get_device_info, d, kClDriverVersion);
  if (auto v = device_value<cl_ulong>(api, d, kClDeviceGlobalMemSize)) info.memory_bytes = *v;
  if (auto v = device_value<cl_uint>(api, d, kClDeviceMaxComputeUnits)) info.compute_units = *v;
  if (auto v = device_value<cl_uint>(api, d, kClDeviceMaxClockFrequency)) info.clock_mhz = *v;

  auto& p = info.properties;
  if (auto v = info_string(api.get_device_info, d, kClDeviceVersion); !v.empty()) p["device_version"] = v;
  if (auto v = device_value<cl_ulong>(api, d, kClDeviceType)) p["device_type"] = device_type_name(*v);
  if (auto v = device_value<cl_ulong>(api, d, kClDeviceLocalMemSize)) p["local_mem_bytes"] = std::to_string(*v);
  if (auto v = device_value<std::size_t>(api, d, kClDeviceMaxWorkGroupSize)) {
    p["max_work_group_size"] = std::to_string(*v);
  }
  // Only asked for when advertised: some ICDs misbehave on unknown queries.
  if (has_extension(info_string(api.get_device_info, d, kClDeviceExtensions), "cl_khr_pci_bus_info")) {
    if (auto v = device_value<ClPciBusInfoKhr>(api, d, kClDevicePciBusInfoKhr);
        v && v->bus <= 0xff && v->device <= 0x1f && v->function <= 7) {
      PciAddress a;
      a.domain = v->domain;
      a.bus = static_cast<std::uint8_t>(v->bus);
      a.device = static_cast<std::uint8_t>(v->device);
      a.function = static_cast<std::uint8_t>(v->function);
      p["pci_bus_id"] = format_pci_bus_id(a);
    }
  }
  return info;
}

class OpenClProbe final : public AcceleratorProbe {
 public:
  [[nodiscard]] std::string_view name() const override { return "opencl"; }

  [[nodiscard]] ProbeResult probe() override {
    const OpenClApi& api = opencl();
    if (!api.error.empty()) return ProbeResult::failure(api.error);

    ProbeResult result;
    cl_uint platform_count = 0;
    cl_int rc = api.get_platform_ids(0, nullptr, &platform_count);
    // The loader answers PLATFORM_NOT_FOUND_KHR when no ICD is registered
    // (nothing in /etc/OpenCL/vendors): a plain machine, not an error.
    if (rc == kClPlatformNotFoundKhr || (rc == kClSuccess && platform_count == 0)) {
      result.notes.emplace_back("no OpenCL platforms installed");
      return result;
    }
    if (rc != kClSuccess) return ProbeResult::failure("clGetPlatformIDs failed: " + describe(rc));
    platform_count = std::min(platform_count, kMaxPlatforms);
    std::vector<cl_platform_id> platforms(platform_count);
    if (rc = api.get_platform_ids(platform_count, platforms.data(), nullptr); rc != kClSuccess) {
      return ProbeResult::failure("clGetPlatformIDs failed: " + describe(rc));
    }

    for (cl_uint p = 0; p < platform_count; ++p) {
      const std::string platform_name = info_string(api.get_platform_info, platforms[p], kClPlatformName);
      const std::string platform_version = info_string(api.get_platform_info, platforms[p], kClPlatformVersion);
      const std::string where = "platform " + std::to_string(p) + " (" +
                                (platform_name.empty() ? info_string(api.get_platform_info, platforms[p],
                                                                     kClPlatformVendor)
                                                       : platform_name) +
                                "): ";
      cl_uint device_count = 0;
      rc = api.get_device_ids(platforms[p], kClDeviceTypeAll, 0, nullptr, &device_count);
      if (rc == kClDeviceNotFound || (rc == kClSuccess && device_count == 0)) {
        result.notes.push_back(where + "no devices");
        continue;
      }
      if (rc != kClSuccess) {
        result.notes.push_back(where + "clGetDeviceIDs failed: " + describe(rc));
        continue;
      }
      device_count = std::min(device_count, kMaxDevicesPerPlatform);
      std::vector<cl_device_id> devices(device_count);
      if (rc = api.get_device_ids(platforms[p], kClDeviceTypeAll, device_count, devices.data(), nullptr);
          rc != kClSuccess) {
        result.notes.push_back(where + "clGetDeviceIDs failed: " + describe(rc));
        continue;
      }
      for (cl_uint d = 0; d < device_count; ++d) {
        AcceleratorInfo info = describe_device(api, devices[d]);
        info.id = "opencl:" + std::to_string(p) + ':' + std::to_string(d);
        info.properties["platform"] = platform_name;
        if (!platform_version.empty()) info.properties["platform_version"] = platform_version;
        result.devices.push_back(std::move(info));
      }
    }
    return result;
  }
};

}  // namespace

std::unique_ptr<AcceleratorProbe> make_opencl_probe() { return std::make_unique<OpenClProbe>(); }

}  // namespace tensority::hwdetect
