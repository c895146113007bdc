#pragma once

// The accelerator probes hwdetect ships itself. Each loads its API's library
// with dlopen when it runs, so hwdetect builds and runs without any GPU SDK,
// and a machine without the driver gets a note instead of a failed start.
// ensure_builtin_probes() (accelerator.hpp) registers them; these factories
// exist for callers and tests that want one probe's result on its own.

#include <memory>

#include "tensority/hwdetect/accelerator.hpp"

namespace tensority::hwdetect {

// "cuda": one AcceleratorInfo per device the CUDA driver API (libcuda.so.1)
// reports. id is the device's PCI bus id in format_pci_bus_id form; properties
// carry "index" (the ordinal N of `cuda:N`, as CUDA_VISIBLE_DEVICES leaves it
// for this process), "compute_capability" ("9.0"), "l2_bytes",
// "smem_per_sm_bytes" and, where NVML answers, "temperature_c", "power_w",
// "fan_percent", "sm_clock_mhz", "mem_clock_mhz".
[[nodiscard]] std::unique_ptr<AcceleratorProbe> make_cuda_probe();

// "opencl": one AcceleratorInfo per device of every platform the ICD loader
// (libOpenCL.so.1) lists. id is "opencl:P:D": P indexes clGetPlatformIDs'
// list and D indexes clGetDeviceIDs(CL_DEVICE_TYPE_ALL) on that platform,
// the numbering `--device opencl:P:D` uses. properties carry "platform",
// "platform_version", "device_version", "device_type" (cpu, gpu, accelerator,
// custom), "local_mem_bytes", "max_work_group_size" and, where the device has
// cl_khr_pci_bus_info, "pci_bus_id" (to match it with its CUDA twin).
[[nodiscard]] std::unique_ptr<AcceleratorProbe> make_opencl_probe();

}  // namespace tensority::hwdetect
