#pragma once
// The OpenCL backend: one device per (platform, device) pair the ICD loader reports, named
// opencl:P:D. Workers run the whole hash on the device (block IDs, 4 lanes of 64 products,
// the fold and the target check), so only nonces that meet the target come back.
#include <memory>
#include <string>
#include <vector>

#include "tensority/kernels/hal/device.hpp"
#include "tensority/kernels/hal/registry.hpp"

namespace tensority::kernels::opencl {

std::unique_ptr<hal::Backend> make_backend();

// The lanes kernel variants this build knows (WorkerOptions::kernel takes these names).
std::vector<std::string> variant_names();

// Whether an OpenCL worker's program came from the on-disk program cache (false for a
// program compiled from source, and for any other kind of worker).
bool program_loaded_from_cache(const hal::Worker& worker);

// The lanes work-group size an OpenCL worker launches with (0 for other workers).
std::size_t lanes_work_group_size(const hal::Worker& worker);

}  // namespace tensority::kernels::opencl

// Called by the generated registration code (kernels/CMakeLists.txt).
void tensority_register_backend_opencl(tensority::kernels::hal::Registry& registry);
