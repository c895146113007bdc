#pragma once
// The thin launch API between the CUDA host code and the kernels. Host code sees only
// plain pointers, sizes and the runtime API's error type; the .cu files own every device
// type and launch configuration.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace tensority::kernels::cuda {

inline constexpr std::size_t kMatrixBytes = 65536;
inline constexpr std::size_t kCacheBytes = 256 * kMatrixBytes;
inline constexpr std::size_t kLaneStateBytes = kMatrixBytes;  // one lane's final 256x256 state

// How the 64 chained products of a lane run. The imma kernels keep the lane's B matrix in
// shared memory (one buffer, or two so the next one streams in during the product) and
// split the 256 state rows over warps of 32 rows; dp4a runs one state row per thread.
enum class LanesKernel { imma_w8_db, imma_w4_db, imma_w8, imma_w4, dp4a };

struct LanesKernelInfo {
  LanesKernel kernel;
  const char* name;
  int min_compute_capability;  // major * 10 + minor
  std::size_t dynamic_smem_bytes;
  unsigned threads_per_cta;
  unsigned ctas_per_lane;
};

// Every lanes kernel, fastest first.
const LanesKernelInfo* lanes_kernels(std::size_t& count);
const LanesKernelInfo& lanes_kernel_info(LanesKernel kernel);

struct IdBody {
  std::uint8_t bytes[136];
};

struct LaunchTarget {
  std::uint64_t limbs[4];  // little-endian limbs, limbs[0] least significant
  std::uint32_t never;     // 1: nothing qualifies
};

// What the finish kernel reports for a result that meets the target.
struct FoundEntry {
  std::uint64_t index;  // offset from the launch's first nonce (or the ID's slot for hash())
  std::uint8_t result[32];
};

struct DeviceBuffers {
  const std::int8_t* cache = nullptr;  // 16 MiB, row-major int8 matrices
  std::uint8_t* ids = nullptr;         // batch x 32 block IDs
  std::uint8_t* lane_index = nullptr;  // batch x 4 x 32 matrix indices
  std::uint8_t* lane_out = nullptr;    // batch x 4 x 64 KiB final lane states
  std::uint32_t* found_count = nullptr;
  FoundEntry* found = nullptr;
  std::uint32_t found_capacity = 0;
};

// How many CTAs of a lanes kernel one multiprocessor of the current device holds.
cudaError_t lanes_ctas_per_sm(LanesKernel kernel, int& ctas);

// Raises each kernel's dynamic shared-memory limit on the current device; call once per
// device before the first launch.
cudaError_t configure_kernels();

// Block IDs of nonces start .. start + count - 1 (the nonce goes into body bytes 128..135)
// into buffers.ids; with body == nullptr the IDs already in buffers.ids are used. Then the
// 4 lane index strings of each ID.
cudaError_t launch_ids(const IdBody* body, std::uint64_t start, std::uint32_t count, const DeviceBuffers& buffers,
                       cudaStream_t stream);

// The 4 x 64 chained products of each of count IDs, into buffers.lane_out.
cudaError_t launch_lanes(LanesKernel kernel, std::uint32_t count, const DeviceBuffers& buffers, cudaStream_t stream);

// Lane sum, FNV fold, final SHA3 and the target check; appends qualifying results to
// buffers.found (found_count must be zeroed before).
cudaError_t launch_finish(std::uint32_t count, const LaunchTarget& target, const DeviceBuffers& buffers,
                          cudaStream_t stream);

}  // namespace tensority::kernels::cuda
