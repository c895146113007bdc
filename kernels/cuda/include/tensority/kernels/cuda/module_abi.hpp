#pragma once
// The C entry points of libtensority-cuda.so, shared by the module and the host loader.
#include <cstddef>
#include <cstdint>

#include "tensority/kernels/hal/device.hpp"

namespace tensority::kernels::cuda {

inline constexpr const char* kModuleFile = "libtensority-cuda.so";
using ModuleAbiFn = std::uint64_t (*)();
using ModuleVersionFn = const char* (*)();
using ModuleCreateFn = hal::Backend* (*)(char* error, std::size_t error_size);
inline constexpr const char* kModuleAbiSymbol = "tensority_cuda_module_abi";
inline constexpr const char* kModuleVersionSymbol = "tensority_cuda_module_version";
inline constexpr const char* kModuleCreateSymbol = "tensority_cuda_module_create";

}  // namespace tensority::kernels::cuda
