// The 4 x 64 chained int8 matrix products of each hash. Row r of a lane's next state
// depends only on row r of its state and on B, so each lane is 256 independent row chains
// that share one B per step: a CTA owns a block of rows of one (nonce, lane), keeps B in
// shared memory and reuses every B byte for all of its rows.
#include "device_common.hpp"
#include "launch.hpp"

namespace tensority::kernels::cuda {
namespace {

using dev::swizzle;

// ---- imma: mma.sync m16n8k32 s8 x s8 -> s32, row.col, which is A x B^T directly ----

__device__ __forceinline__ void cp_async16(void* smem, const void* gmem) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  const auto s = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(s), "l"(gmem));
#endif
}

__device__ __forceinline__ void cp_async_commit() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.commit_group;\n" ::);
#endif
}

__device__ __forceinline__ void cp_async_wait_all() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.wait_all;\n" ::);
#endif
}

__device__ __forceinline__ void mma_s8(int (&c)[4], const unsigned (&a)[4], unsigned b0, unsigned b1) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#endif
}

// kWarps warps each own 32 state rows (two m16 tiles); kDouble streams the next B into a
// second buffer while the current product runs.
template <int kWarps, bool kDouble>
__global__ void __launch_bounds__(kWarps * 32, 1)
    lanes_imma(const std::int8_t* __restrict__ cache, const std::uint8_t* __restrict__ lane_index,
               std::uint8_t* __restrict__ lane_out) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  constexpr unsigned kThreads = kWarps * 32;
  constexpr unsigned kRows = kWarps * 32;
  constexpr unsigned kSplits = 256 / kRows;
  constexpr unsigned kBufs = kDouble ? 2 : 1;
  extern __shared__ uint4 smem_raw[];
  auto* smem = reinterpret_cast<std::uint8_t*>(smem_raw);
  std::uint8_t* bs = smem;                         // kBufs x 64 KiB, swizzled rows of B
  std::uint8_t* as = smem + kBufs * kMatrixBytes;  // kRows x 256, swizzled state rows
  __shared__ std::uint8_t q[32];

  const unsigned nl = blockIdx.x / kSplits;  // nonce * 4 + lane
  const unsigned row_base = (blockIdx.x % kSplits) * kRows;
  const unsigned tid = threadIdx.x;
  const unsigned lane = tid % 32;
  const unsigned wrow = (tid / 32) * 32;  // this warp's first local row

  if (tid < 32) q[tid] = lane_index[std::size_t{nl} * 32 + tid];
  for (unsigned i = lane; i < 32 * 16; i += 32) {
    *reinterpret_cast<uint4*>(as + swizzle(wrow + i / 16, (i % 16) * 16)) = make_uint4(0, 0, 0, 0);
  }
  __syncwarp();
  // The chain starts from the identity: row R is e_R.
  as[swizzle(wrow + lane, row_base + wrow + lane)] = 1;
  __syncthreads();

  auto load_b = [&](int p, std::uint8_t* dst) {
    const std::int8_t* src = cache + std::size_t{q[p & 31]} * kMatrixBytes;
    for (unsigned i = tid; i < kMatrixBytes / 16; i += kThreads) {
      const unsigned r = i / 16, ch = i % 16;
      cp_async16(dst + swizzle(r, ch * 16), src + r * 256 + ch * 16);
    }
    cp_async_commit();
  };
  if (kDouble) load_b(0, bs);

  for (int p = 0; p < 64; ++p) {
    const std::uint8_t* b = bs + (kDouble ? (p & 1) * kMatrixBytes : 0);
    if (kDouble) {
      cp_async_wait_all();
      __syncthreads();  // B_p complete for all, and every warp is done with B_{p-1}
      if (p + 1 < 64) load_b(p + 1, bs + ((p + 1) & 1) * kMatrixBytes);
    } else {
      __syncthreads();
      load_b(p, bs);
      cp_async_wait_all();
      __syncthreads();
    }

    // The warp's whole state block as A fragments: 2 m-tiles x 8 k-steps x 4 registers.
    unsigned a[2][8][4];
    dev::imma_load_a(as, wrow, lane, a);
    __syncwarp();  // the warp's rows may now be overwritten with the next state

#pragma unroll 1
    for (int nc = 0; nc < 8; ++nc) {  // 32 output columns at a time
      int acc[2][4][4] = {};
#pragma unroll
      for (int kk = 0; kk < 8; ++kk) {
#pragma unroll
        for (int nt = 0; nt < 4; ++nt) {
          const unsigned b0 = dev::load_word(b + dev::imma_b_offset(nc, nt, kk, lane, 0));
          const unsigned b1 = dev::load_word(b + dev::imma_b_offset(nc, nt, kk, lane, 1));
          mma_s8(acc[0][nt], a[0][kk], b0, b1);
          mma_s8(acc[1][nt], a[1][kk], b0, b1);
        }
      }
      // Epilogue: the byte reduction, straight into the next state.
      dev::imma_store_c(as, wrow, nc, lane, acc);
    }
    __syncwarp();
  }

  std::uint8_t* out = lane_out + std::size_t{nl} * kLaneStateBytes;
  for (unsigned i = lane; i < 32 * 16; i += 32) {
    const unsigned r = wrow + i / 16, ch = i % 16;
    *reinterpret_cast<uint4*>(out + (row_base + r) * 256 + ch * 16) =
        *reinterpret_cast<const uint4*>(as + swizzle(r, ch * 16));
  }
#else
  __trap();  // never launched below sm_80: the host picks dp4a there
#endif
}

// ---- dp4a: one state row per thread, in registers; B broadcast from shared memory ----

constexpr unsigned kDp4aThreads = 256;

__global__ void __launch_bounds__(kDp4aThreads, 1)
    lanes_dp4a(const std::int8_t* __restrict__ cache, const std::uint8_t* __restrict__ lane_index,
               std::uint8_t* __restrict__ lane_out) {
  extern __shared__ uint4 smem_raw[];
  const auto* bwords = reinterpret_cast<const unsigned*>(smem_raw);  // 256 rows x 64 words
  __shared__ std::uint8_t q[32];
  const unsigned nl = blockIdx.x;
  const unsigned r = threadIdx.x;
  if (r < 32) q[r] = lane_index[std::size_t{nl} * 32 + r];

  unsigned a[64];
#pragma unroll
  for (int w = 0; w < 64; ++w) a[w] = (static_cast<unsigned>(w) == r / 4) ? 1u << (8 * (r % 4)) : 0u;

  for (int p = 0; p < 64; ++p) {
    __syncthreads();  // q visible; everyone done with the previous B
    const auto* src = reinterpret_cast<const uint4*>(cache + std::size_t{q[p & 31]} * kMatrixBytes);
    for (unsigned i = r; i < kMatrixBytes / 16; i += kDp4aThreads) smem_raw[i] = src[i];
    __syncthreads();
    unsigned next[64];
#pragma unroll 1
    for (int c4 = 0; c4 < 64; ++c4) {
      unsigned word = 0;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const unsigned* brow = bwords + (c4 * 4 + j) * 64;
        int acc = 0;
#pragma unroll
        for (int w = 0; w < 64; ++w) acc = __dp4a(static_cast<int>(a[w]), static_cast<int>(brow[w]), acc);
        word |= dev::reduce(acc) << (8 * j);
      }
      next[c4] = word;
    }
#pragma unroll
    for (int w = 0; w < 64; ++w) a[w] = next[w];
  }
  auto* out = reinterpret_cast<uint4*>(lane_out + std::size_t{nl} * kLaneStateBytes + r * 256);
#pragma unroll
  for (int w = 0; w < 16; ++w) out[w] = make_uint4(a[4 * w], a[4 * w + 1], a[4 * w + 2], a[4 * w + 3]);
}

constexpr LanesKernelInfo kKernels[] = {
    {LanesKernel::imma_w8_db, "imma_m16n8k32_w8_db", 80, 2 * kMatrixBytes + 256 * 256, 256, 1},
    {LanesKernel::imma_w4_db, "imma_m16n8k32_w4_db", 80, 2 * kMatrixBytes + 128 * 256, 128, 2},
    {LanesKernel::imma_w8, "imma_m16n8k32_w8", 80, kMatrixBytes + 256 * 256, 256, 1},
    {LanesKernel::imma_w4, "imma_m16n8k32_w4", 80, kMatrixBytes + 128 * 256, 128, 2},
    {LanesKernel::dp4a, "dp4a_row256", 61, kMatrixBytes, kDp4aThreads, 1},
};

template <typename Kernel>
cudaError_t raise_smem(Kernel kernel, std::size_t bytes) {
  return cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes));
}

}  // namespace

const LanesKernelInfo* lanes_kernels(std::size_t& count) {
  count = sizeof(kKernels) / sizeof(kKernels[0]);
  return kKernels;
}

const LanesKernelInfo& lanes_kernel_info(LanesKernel kernel) {
  for (const auto& k : kKernels) {
    if (k.kernel == kernel) return k;
  }
  return kKernels[0];
}

cudaError_t configure_kernels() {
  int device = 0;
  cudaDeviceProp prop{};
  if (auto e = cudaGetDevice(&device); e != cudaSuccess) return e;
  if (auto e = cudaGetDeviceProperties(&prop, device); e != cudaSuccess) return e;
  const std::size_t limit = prop.sharedMemPerBlockOptin;
  // Only kernels that fit get the larger limit; the host never picks the others.
  auto fits = [&](LanesKernel k) { return lanes_kernel_info(k).dynamic_smem_bytes + 64 <= limit; };
  cudaError_t e = cudaSuccess;
  if (fits(LanesKernel::imma_w8_db)) e = raise_smem(lanes_imma<8, true>, lanes_kernel_info(LanesKernel::imma_w8_db).dynamic_smem_bytes);
  if (e == cudaSuccess && fits(LanesKernel::imma_w4_db)) e = raise_smem(lanes_imma<4, true>, lanes_kernel_info(LanesKernel::imma_w4_db).dynamic_smem_bytes);
  if (e == cudaSuccess && fits(LanesKernel::imma_w8)) e = raise_smem(lanes_imma<8, false>, lanes_kernel_info(LanesKernel::imma_w8).dynamic_smem_bytes);
  if (e == cudaSuccess && fits(LanesKernel::imma_w4)) e = raise_smem(lanes_imma<4, false>, lanes_kernel_info(LanesKernel::imma_w4).dynamic_smem_bytes);
  if (e == cudaSuccess && fits(LanesKernel::dp4a)) e = raise_smem(lanes_dp4a, lanes_kernel_info(LanesKernel::dp4a).dynamic_smem_bytes);
  return e;
}

cudaError_t lanes_ctas_per_sm(LanesKernel kernel, int& ctas) {
  const LanesKernelInfo& k = lanes_kernel_info(kernel);
  const int threads = static_cast<int>(k.threads_per_cta);
  switch (kernel) {
    case LanesKernel::imma_w8_db:
      return cudaOccupancyMaxActiveBlocksPerMultiprocessor(&ctas, lanes_imma<8, true>, threads, k.dynamic_smem_bytes);
    case LanesKernel::imma_w4_db:
      return cudaOccupancyMaxActiveBlocksPerMultiprocessor(&ctas, lanes_imma<4, true>, threads, k.dynamic_smem_bytes);
    case LanesKernel::imma_w8:
      return cudaOccupancyMaxActiveBlocksPerMultiprocessor(&ctas, lanes_imma<8, false>, threads, k.dynamic_smem_bytes);
    case LanesKernel::imma_w4:
      return cudaOccupancyMaxActiveBlocksPerMultiprocessor(&ctas, lanes_imma<4, false>, threads, k.dynamic_smem_bytes);
    case LanesKernel::dp4a:
      return cudaOccupancyMaxActiveBlocksPerMultiprocessor(&ctas, lanes_dp4a, threads, k.dynamic_smem_bytes);
  }
  return cudaErrorInvalidValue;
}

cudaError_t launch_lanes(LanesKernel kernel, std::uint32_t count, const DeviceBuffers& buffers, cudaStream_t stream) {
  if (count == 0) return cudaSuccess;
  const LanesKernelInfo& k = lanes_kernel_info(kernel);
  const unsigned grid = count * 4 * k.ctas_per_lane;
  switch (kernel) {
    case LanesKernel::imma_w8_db:
      lanes_imma<8, true><<<grid, k.threads_per_cta, k.dynamic_smem_bytes, stream>>>(buffers.cache, buffers.lane_index, buffers.lane_out);
      break;
    case LanesKernel::imma_w4_db:
      lanes_imma<4, true><<<grid, k.threads_per_cta, k.dynamic_smem_bytes, stream>>>(buffers.cache, buffers.lane_index, buffers.lane_out);
      break;
    case LanesKernel::imma_w8:
      lanes_imma<8, false><<<grid, k.threads_per_cta, k.dynamic_smem_bytes, stream>>>(buffers.cache, buffers.lane_index, buffers.lane_out);
      break;
    case LanesKernel::imma_w4:
      lanes_imma<4, false><<<grid, k.threads_per_cta, k.dynamic_smem_bytes, stream>>>(buffers.cache, buffers.lane_index, buffers.lane_out);
      break;
    case LanesKernel::dp4a:
      lanes_dp4a<<<grid, k.threads_per_cta, k.dynamic_smem_bytes, stream>>>(buffers.cache, buffers.lane_index, buffers.lane_out);
      break;
  }
  return cudaGetLastError();
}

}  // namespace tensority::kernels::cuda
