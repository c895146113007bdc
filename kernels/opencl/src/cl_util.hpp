#pragma once
// Thin helpers over the OpenCL C API: error names, Status conversion, RAII handles and
// info queries. Nothing here throws.
#include <CL/cl.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tensority/kernels/hal/device.hpp"

namespace tensority::kernels::opencl {

// "CL_OUT_OF_RESOURCES" for -5, "CL_UNKNOWN_ERROR(-77)" for codes it does not know.
std::string cl_error_name(cl_int err);

// "clEnqueueNDRangeKernel(tensority_lanes) failed: CL_OUT_OF_RESOURCES (-5)" with the code the
// error maps to (allocation failures are out_of_memory, the rest device_error).
hal::Status cl_status(std::string_view call, cl_int err);

// Releases an OpenCL object when it goes out of scope.
template <typename T, cl_int (*Release)(T)>
class Handle {
 public:
  Handle() = default;
  explicit Handle(T h) : h_(h) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = std::exchange(o.h_, nullptr);
    }
    return *this;
  }
  ~Handle() { reset(); }
  void reset(T h = nullptr) {
    if (h_ != nullptr) Release(h_);
    h_ = h;
  }
  T get() const { return h_; }
  explicit operator bool() const { return h_ != nullptr; }

 private:
  T h_ = nullptr;
};

using Context = Handle<cl_context, clReleaseContext>;
using Queue = Handle<cl_command_queue, clReleaseCommandQueue>;
using Program = Handle<cl_program, clReleaseProgram>;
using Kernel = Handle<cl_kernel, clReleaseKernel>;
using Buffer = Handle<cl_mem, clReleaseMemObject>;

std::string platform_string(cl_platform_id p, cl_platform_info what);
std::string device_string(cl_device_id d, cl_device_info what);

template <typename T>
bool device_value(cl_device_id d, cl_device_info what, T& out) {
  return clGetDeviceInfo(d, what, sizeof(T), &out, nullptr) == CL_SUCCESS;
}

// True when the space-separated extension list names ext exactly.
bool has_extension(const std::string& extensions, std::string_view ext);

// The PCI address "dddd:bb:dd.f" (lower-case hex, as CUDA prints it) from cl_khr_pci_bus_info,
// cl_nv_device_attribute_query or cl_amd_device_attribute_query; empty when none answers.
std::string pci_bus_id(cl_device_id d, const std::string& extensions);

// The program's build log for the device, at most max_chars (the beginning is kept).
std::string build_log(cl_program program, cl_device_id d, std::size_t max_chars = 4000);

}  // namespace tensority::kernels::opencl
