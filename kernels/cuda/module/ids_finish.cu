// Everything around the products: block IDs and lane indices before them, and after them
// the lane sum, FNV fold, final SHA3 and target check, so only qualifying nonces leave
// the device.
#include "device_common.hpp"
#include "launch.hpp"

namespace tensority::kernels::cuda {
namespace {

constexpr unsigned kIdsThreads = 128;
constexpr unsigned kFinishThreads = 256;

__global__ void ids_kernel(IdBody body, bool from_body, std::uint64_t start, std::uint32_t count,
                           std::uint8_t* __restrict__ ids, std::uint8_t* __restrict__ lane_index) {
  const std::uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= count) return;
  std::uint8_t id[32];
  if (from_body) {
    const std::uint64_t nonce = start + i;  // wraps at 2^64 like the CPU search
    for (int b = 0; b < 8; ++b) body.bytes[128 + b] = static_cast<std::uint8_t>(nonce >> (8 * b));
    dev::block_id(body.bytes, id);
    for (int b = 0; b < 32; ++b) ids[std::size_t{i} * 32 + b] = id[b];
  } else {
    for (int b = 0; b < 32; ++b) id[b] = ids[std::size_t{i} * 32 + b];
  }
  for (int l = 0; l < 4; ++l) dev::sha3_256(id + 8 * l, 8, lane_index + (std::size_t{i} * 4 + l) * 32);
}

__global__ void __launch_bounds__(kFinishThreads) finish_kernel(const std::uint8_t* __restrict__ lane_out,
                                                                LaunchTarget target,
                                                                std::uint32_t* __restrict__ found_count,
                                                                FoundEntry* __restrict__ found,
                                                                std::uint32_t capacity) {
  // Rows r and r + 128 are packed and folded together, so the first FNV level never
  // touches shared memory: 128 x 64 words = 32 KiB.
  __shared__ std::uint32_t w[128 * 64];
  const std::uint32_t idx = blockIdx.x;
  const std::uint8_t* lanes = lane_out + std::size_t{idx} * 4 * kLaneStateBytes;
  const std::uint8_t* const lane_ptr[4] = {lanes, lanes + kLaneStateBytes, lanes + 2 * kLaneStateBytes,
                                            lanes + 3 * kLaneStateBytes};
  for (unsigned task = threadIdx.x; task < 128 * 16; task += kFinishThreads) {
    const unsigned r = task / 16, j = (task % 16) * 4;
    dev::fold_pack_first(lane_ptr, r, j, &w[r * 64 + j]);
  }
  __syncthreads();
  for (unsigned n = 128; n > 1; n /= 2) {
    for (unsigned task = threadIdx.x; task < (n / 2) * 64; task += kFinishThreads) {
      const unsigned r = task / 64, j = task % 64;
      w[r * 64 + j] = (w[r * 64 + j] * dev::kFnvPrime) ^ w[(r + n / 2) * 64 + j];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    // Row 0's words in memory are already the little-endian bytes the spec hashes.
    std::uint8_t result[32];
    dev::sha3_256(reinterpret_cast<const std::uint8_t*>(w), 256, result);
    if (dev::target_met(result, target.limbs, target.never != 0)) {
      const std::uint32_t slot = atomicAdd(found_count, 1u);
      if (slot < capacity) {
        found[slot].index = idx;
        for (int b = 0; b < 32; ++b) found[slot].result[b] = result[b];
      }
    }
  }
}

}  // namespace

cudaError_t launch_ids(const IdBody* body, std::uint64_t start, std::uint32_t count, const DeviceBuffers& buffers,
                       cudaStream_t stream) {
  if (count == 0) return cudaSuccess;
  IdBody b{};
  if (body != nullptr) b = *body;
  const unsigned blocks = (count + kIdsThreads - 1) / kIdsThreads;
  ids_kernel<<<blocks, kIdsThreads, 0, stream>>>(b, body != nullptr, start, count, buffers.ids, buffers.lane_index);
  return cudaGetLastError();
}

cudaError_t launch_finish(std::uint32_t count, const LaunchTarget& target, const DeviceBuffers& buffers,
                          cudaStream_t stream) {
  if (count == 0) return cudaSuccess;
  finish_kernel<<<count, kFinishThreads, 0, stream>>>(buffers.lane_out, target, buffers.found_count, buffers.found,
                                                      buffers.found_capacity);
  return cudaGetLastError();
}

}  // namespace tensority::kernels::cuda
