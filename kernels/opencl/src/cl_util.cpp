#include "cl_util.hpp"

#include <CL/cl_ext.h>

#include <sstream>

#include "tensority/hwdetect/pci.hpp"

namespace tensority::kernels::opencl {
namespace {

// Extension queries, defined here so older headers do not matter.
constexpr cl_device_info kPciBusInfoKhr = 0x410F;
constexpr cl_device_info kPciBusIdNv = 0x4008;
constexpr cl_device_info kPciSlotIdNv = 0x4009;
constexpr cl_device_info kPciDomainIdNv = 0x400A;
constexpr cl_device_info kTopologyAmd = 0x4037;

struct PciBusInfoKhr {
  cl_uint domain;
  cl_uint bus;
  cl_uint device;
  cl_uint function;
};

union TopologyAmd {
  struct {
    cl_uint type;
    cl_uint data[5];
  } raw;
  struct {
    cl_uint type;
    cl_char unused[17];
    cl_char bus;
    cl_char device;
    cl_char function;
  } pcie;
};

// The same spelling hwdetect and the CUDA backend use, so one GPU has one stable id.
std::string format_pci(unsigned domain, unsigned bus, unsigned device, unsigned function) {
  return hwdetect::format_pci_bus_id({domain, static_cast<std::uint8_t>(bus), static_cast<std::uint8_t>(device & 0x1Fu),
                                      static_cast<std::uint8_t>(function & 7u)});
}

}  // namespace

std::string cl_error_name(cl_int err) {
  switch (err) {
#define TENSORITY_CL_ERR(e) \
  case e: return #e;
    TENSORITY_CL_ERR(CL_SUCCESS)
    TENSORITY_CL_ERR(CL_DEVICE_NOT_FOUND)
    TENSORITY_CL_ERR(CL_DEVICE_NOT_AVAILABLE)
    TENSORITY_CL_ERR(CL_COMPILER_NOT_AVAILABLE)
    TENSORITY_CL_ERR(CL_MEM_OBJECT_ALLOCATION_FAILURE)
    TENSORITY_CL_ERR(CL_OUT_OF_RESOURCES)
    TENSORITY_CL_ERR(CL_OUT_OF_HOST_MEMORY)
    TENSORITY_CL_ERR(CL_PROFILING_INFO_NOT_AVAILABLE)
    TENSORITY_CL_ERR(CL_MEM_COPY_OVERLAP)
    TENSORITY_CL_ERR(CL_IMAGE_FORMAT_MISMATCH)
    TENSORITY_CL_ERR(CL_IMAGE_FORMAT_NOT_SUPPORTED)
    TENSORITY_CL_ERR(CL_BUILD_PROGRAM_FAILURE)
    TENSORITY_CL_ERR(CL_MAP_FAILURE)
    TENSORITY_CL_ERR(CL_MISALIGNED_SUB_BUFFER_OFFSET)
    TENSORITY_CL_ERR(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
    TENSORITY_CL_ERR(CL_COMPILE_PROGRAM_FAILURE)
    TENSORITY_CL_ERR(CL_LINKER_NOT_AVAILABLE)
    TENSORITY_CL_ERR(CL_LINK_PROGRAM_FAILURE)
    TENSORITY_CL_ERR(CL_DEVICE_PARTITION_FAILED)
    TENSORITY_CL_ERR(CL_KERNEL_ARG_INFO_NOT_AVAILABLE)
    TENSORITY_CL_ERR(CL_INVALID_VALUE)
    TENSORITY_CL_ERR(CL_INVALID_DEVICE_TYPE)
    TENSORITY_CL_ERR(CL_INVALID_PLATFORM)
    TENSORITY_CL_ERR(CL_INVALID_DEVICE)
    TENSORITY_CL_ERR(CL_INVALID_CONTEXT)
    TENSORITY_CL_ERR(CL_INVALID_QUEUE_PROPERTIES)
    TENSORITY_CL_ERR(CL_INVALID_COMMAND_QUEUE)
    TENSORITY_CL_ERR(CL_INVALID_HOST_PTR)
    TENSORITY_CL_ERR(CL_INVALID_MEM_OBJECT)
    TENSORITY_CL_ERR(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR)
    TENSORITY_CL_ERR(CL_INVALID_IMAGE_SIZE)
    TENSORITY_CL_ERR(CL_INVALID_SAMPLER)
    TENSORITY_CL_ERR(CL_INVALID_BINARY)
    TENSORITY_CL_ERR(CL_INVALID_BUILD_OPTIONS)
    TENSORITY_CL_ERR(CL_INVALID_PROGRAM)
    TENSORITY_CL_ERR(CL_INVALID_PROGRAM_EXECUTABLE)
    TENSORITY_CL_ERR(CL_INVALID_KERNEL_NAME)
    TENSORITY_CL_ERR(CL_INVALID_KERNEL_DEFINITION)
    TENSORITY_CL_ERR(CL_INVALID_KERNEL)
    TENSORITY_CL_ERR(CL_INVALID_ARG_INDEX)
    TENSORITY_CL_ERR(CL_INVALID_ARG_VALUE)
    TENSORITY_CL_ERR(CL_INVALID_ARG_SIZE)
    TENSORITY_CL_ERR(CL_INVALID_KERNEL_ARGS)
    TENSORITY_CL_ERR(CL_INVALID_WORK_DIMENSION)
    TENSORITY_CL_ERR(CL_INVALID_WORK_GROUP_SIZE)
    TENSORITY_CL_ERR(CL_INVALID_WORK_ITEM_SIZE)
    TENSORITY_CL_ERR(CL_INVALID_GLOBAL_OFFSET)
    TENSORITY_CL_ERR(CL_INVALID_EVENT_WAIT_LIST)
    TENSORITY_CL_ERR(CL_INVALID_EVENT)
    TENSORITY_CL_ERR(CL_INVALID_OPERATION)
    TENSORITY_CL_ERR(CL_INVALID_GL_OBJECT)
    TENSORITY_CL_ERR(CL_INVALID_BUFFER_SIZE)
    TENSORITY_CL_ERR(CL_INVALID_MIP_LEVEL)
    TENSORITY_CL_ERR(CL_INVALID_GLOBAL_WORK_SIZE)
    TENSORITY_CL_ERR(CL_INVALID_PROPERTY)
    TENSORITY_CL_ERR(CL_INVALID_IMAGE_DESCRIPTOR)
    TENSORITY_CL_ERR(CL_INVALID_COMPILER_OPTIONS)
    TENSORITY_CL_ERR(CL_INVALID_LINKER_OPTIONS)
    TENSORITY_CL_ERR(CL_INVALID_DEVICE_PARTITION_COUNT)
#undef TENSORITY_CL_ERR
    case -1001: return "CL_PLATFORM_NOT_FOUND_KHR";
    default: return "CL_UNKNOWN_ERROR(" + std::to_string(err) + ")";
  }
}

hal::Status cl_status(std::string_view call, cl_int err) {
  const auto code = (err == CL_MEM_OBJECT_ALLOCATION_FAILURE || err == CL_OUT_OF_HOST_MEMORY ||
                     err == CL_INVALID_BUFFER_SIZE)
                        ? hal::StatusCode::out_of_memory
                        : hal::StatusCode::device_error;
  return hal::Status::error(code, std::string(call) + " failed: " + cl_error_name(err) + " (" + std::to_string(err) + ")");
}

std::string platform_string(cl_platform_id p, cl_platform_info what) {
  std::size_t size = 0;
  if (clGetPlatformInfo(p, what, 0, nullptr, &size) != CL_SUCCESS || size == 0) return {};
  std::string s(size, '\0');
  if (clGetPlatformInfo(p, what, size, s.data(), nullptr) != CL_SUCCESS) return {};
  while (!s.empty() && (s.back() == '\0' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string device_string(cl_device_id d, cl_device_info what) {
  std::size_t size = 0;
  if (clGetDeviceInfo(d, what, 0, nullptr, &size) != CL_SUCCESS || size == 0) return {};
  std::string s(size, '\0');
  if (clGetDeviceInfo(d, what, size, s.data(), nullptr) != CL_SUCCESS) return {};
  while (!s.empty() && (s.back() == '\0' || s.back() == ' ')) s.pop_back();
  return s;
}

bool has_extension(const std::string& extensions, std::string_view ext) {
  std::istringstream in(extensions);
  std::string word;
  while (in >> word) {
    if (word == ext) return true;
  }
  return false;
}

std::string pci_bus_id(cl_device_id d, const std::string& extensions) {
  if (has_extension(extensions, "cl_khr_pci_bus_info")) {
    PciBusInfoKhr info{};
    if (clGetDeviceInfo(d, kPciBusInfoKhr, sizeof info, &info, nullptr) == CL_SUCCESS) {
      return format_pci(info.domain, info.bus, info.device, info.function);
    }
  }
  if (has_extension(extensions, "cl_nv_device_attribute_query")) {
    cl_uint bus = 0;
    cl_uint slot = 0;
    if (clGetDeviceInfo(d, kPciBusIdNv, sizeof bus, &bus, nullptr) == CL_SUCCESS &&
        clGetDeviceInfo(d, kPciSlotIdNv, sizeof slot, &slot, nullptr) == CL_SUCCESS) {
      cl_uint domain = 0;  // older drivers do not know the domain query
      if (clGetDeviceInfo(d, kPciDomainIdNv, sizeof domain, &domain, nullptr) != CL_SUCCESS) domain = 0;
      return format_pci(domain, bus, slot >> 3, slot & 7u);
    }
  }
  if (has_extension(extensions, "cl_amd_device_attribute_query")) {
    TopologyAmd topo{};
    if (clGetDeviceInfo(d, kTopologyAmd, sizeof topo, &topo, nullptr) == CL_SUCCESS && topo.raw.type == 1) {
      return format_pci(0, static_cast<std::uint8_t>(topo.pcie.bus), static_cast<std::uint8_t>(topo.pcie.device),
                        static_cast<std::uint8_t>(topo.pcie.function));
    }
  }
  return {};
}

std::string build_log(cl_program program, cl_device_id d, std::size_t max_chars) {
  std::size_t size = 0;
  if (clGetProgramBuildInfo(program, d, CL_PROGRAM_BUILD_LOG, 0, nullptr, &size) != CL_SUCCESS || size == 0) {
    return "(no build log)";
  }
  std::string log(size, '\0');
  if (clGetProgramBuildInfo(program, d, CL_PROGRAM_BUILD_LOG, size, log.data(), nullptr) != CL_SUCCESS) {
    return "(build log unavailable)";
  }
  while (!log.empty() && (log.back() == '\0' || log.back() == '\n' || log.back() == ' ')) log.pop_back();
  if (log.empty()) return "(empty build log)";
  // The first errors explain the rest; keep the beginning.
  if (log.size() > max_chars) log = log.substr(0, max_chars) + " [... " + std::to_string(log.size() - max_chars) + " more chars]";
  return log;
}

}  // namespace tensority::kernels::opencl
