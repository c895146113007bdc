# Resolves WITH_CUDA / WITH_OPENCL (ON, OFF, AUTO) into TENSORITY_CUDA_ENABLED and
# TENSORITY_OPENCL_ENABLED. The GPU backends themselves live in kernels/cuda and
# kernels/opencl; kernels/CMakeLists.txt adds each one that is enabled and present.
include(CheckLanguage)

set(TENSORITY_CUDA_ENABLED OFF)
if(WITH_CUDA STREQUAL "ON" OR WITH_CUDA STREQUAL "AUTO")
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(TENSORITY_CUDA_ENABLED ON)
    # Machine code for every generation we tune for, plus PTX so newer GPUs can JIT it.
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 75-real 80-real 86-real 89-real 90-real 90-virtual)
    endif()
    enable_language(CUDA)
  elseif(WITH_CUDA STREQUAL "ON")
    message(FATAL_ERROR "WITH_CUDA=ON but no CUDA compiler was found")
  endif()
endif()

set(TENSORITY_OPENCL_ENABLED OFF)
if(WITH_OPENCL STREQUAL "ON" OR WITH_OPENCL STREQUAL "AUTO")
  find_package(OpenCL QUIET)
  if(OpenCL_FOUND)
    set(TENSORITY_OPENCL_ENABLED ON)
  elseif(WITH_OPENCL STREQUAL "ON")
    message(FATAL_ERROR "WITH_OPENCL=ON but no OpenCL ICD loader/headers were found")
  endif()
endif()
