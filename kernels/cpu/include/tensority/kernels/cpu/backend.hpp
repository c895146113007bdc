#pragma once
// The CPU backend: one device per machine (all cores this process may use), workers with
// one pinned thread per core sharing one prepared cache per seed.
#include <memory>

#include "tensority/kernels/cpu/cache_store.hpp"
#include "tensority/kernels/hal/checked_worker.hpp"
#include "tensority/kernels/hal/device.hpp"
#include "tensority/kernels/hal/registry.hpp"

namespace tensority::kernels::cpu {

std::unique_ptr<hal::Backend> make_backend(std::shared_ptr<CacheStore> store);

// Host re-verification for any device's nonces, with the fastest CPU variant and store.
hal::HostHasher make_host_hasher(std::shared_ptr<CacheStore> store);

// The store the registered CPU backend uses (one per process).
std::shared_ptr<CacheStore> shared_cache_store();

}  // namespace tensority::kernels::cpu

// Called by the generated registration code (kernels/CMakeLists.txt).
void tensority_register_backend_cpu(tensority::kernels::hal::Registry& registry);
