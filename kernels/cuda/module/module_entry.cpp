// The only symbols libtensority-cuda.so exports. The host checks the ABI stamp and the
// version before it asks for the backend, so a module from another build is refused with
// a clear note instead of crashing.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <string>

#include "cuda_backend.hpp"
#include "tensority/kernels/cuda/module_abi.hpp"

extern "C" {

__attribute__((visibility("default"))) std::uint64_t tensority_cuda_module_abi() {
  return tensority::kernels::hal::module_abi();
}

__attribute__((visibility("default"))) const char* tensority_cuda_module_version() { return TENSORITY_VERSION; }

__attribute__((visibility("default"))) tensority::kernels::hal::Backend* tensority_cuda_module_create(
    char* error, std::size_t error_size) {
  std::string why;
  try {
    auto backend = tensority::kernels::cuda::make_backend(why);
    if (backend) return backend.release();
  } catch (const std::exception& e) {
    why = std::string("CUDA backend failed to start: ") + e.what();
  }
  if (error != nullptr && error_size > 0) {
    std::strncpy(error, why.c_str(), error_size - 1);
    error[error_size - 1] = '\0';
  }
  return nullptr;
}

}  // extern "C"
