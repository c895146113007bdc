#pragma once
// Inside the CUDA module: builds the backend from the devices the runtime sees.
#include <memory>
#include <string>

#include "tensority/kernels/hal/device.hpp"

namespace tensority::kernels::cuda {

// nullptr with error set when CUDA cannot run here (no driver, driver too old, ...).
std::unique_ptr<hal::Backend> make_backend(std::string& error);

}  // namespace tensority::kernels::cuda
