#pragma once
// The Tensority engine behind share checks: the CPU (every checking thread hashes on its own,
// sharing one prepared cache per seed), or one device of the device layer (a GPU), used one
// hash at a time behind a lock with its cache prepared once per seed. A device that fails
// mid-run hands over to the CPU for good rather than refuse honest shares.
#include <functional>
#include <string>

#include "tensority/core/types.hpp"
#include "tensority/kernels/hal/checked_worker.hpp"

namespace tensority::pool {

struct CheckHasher {
  kernels::hal::HostHasher hash;
  std::string description;  // "cpu (avx512vnni_64x4)", "cuda:0 NVIDIA H100 ..."
  bool serial = false;      // one hash at a time (a device): one checking thread is enough
};

// selector: "cpu", or a device id as `tensority devices` lists it ("cuda:0", "opencl:0:0").
core::Result<CheckHasher> make_check_hasher(const std::string& selector, std::function<void(const std::string&)> warn);

}  // namespace tensority::pool
