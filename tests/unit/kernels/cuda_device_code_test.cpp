// The CUDA kernels' integer pieces, compiled for the host: SHA3, block IDs, the reduction,
// the target check, the fused lane sum + packing + fold, and the imma kernel's fragment
// loads and epilogue around an emulated mma.sync. The mma emulation is written from the
// PTX ISA's element tables for m16n8k32 .s8, independently of the kernel's helpers, so a
// wrong register mapping or swizzle fails here on any machine, GPU or not.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>

#include "device_common.hpp"
#include "kernel_test_util.hpp"
#include "tensority/core/block_header.hpp"
#include "tensority/core/sha3.hpp"
#include "tensority/core/target.hpp"
#include "tensority/core/tensority.hpp"

namespace tensority::kernels::cuda {
namespace {

namespace dev = tensority::kernels::cuda::dev;

TEST(CudaDeviceCode, Sha3MatchesCoreAtEveryBoundary) {
  test::TestRng rng(0xC5A3);
  for (std::uint32_t len : {0u, 1u, 8u, 52u, 135u, 136u, 137u, 256u, 271u, 272u, 273u, 400u}) {
    std::vector<std::uint8_t> msg(len);
    for (auto& b : msg) b = static_cast<std::uint8_t>(rng.next());
    core::Hash got{};
    dev::sha3_256(msg.data(), len, got.data());
    EXPECT_EQ(got, core::sha3_256(msg)) << "length " << len << "; " << test::seed_note();
  }
}

TEST(CudaDeviceCode, BlockIdMatchesCore) {
  test::TestRng rng(0xC1D);
  for (int i = 0; i < 20; ++i) {
    std::array<std::uint8_t, core::kIdBodyBytes> body{};
    for (auto& b : body) b = static_cast<std::uint8_t>(rng.next());
    core::Hash got{};
    dev::block_id(body.data(), got.data());
    EXPECT_EQ(got, core::block_id_from_body(body)) << test::seed_note();
  }
}

TEST(CudaDeviceCode, ReduceMatchesCoreOverTheWholeRange) {
  for (std::int32_t x = -(1 << 22); x <= (1 << 22); x += 37) {
    ASSERT_EQ(dev::reduce(x), static_cast<std::uint8_t>(core::reduce(x))) << x;
  }
}

TEST(CudaDeviceCode, TargetCheckMatchesTarget256) {
  test::TestRng rng(0xC7A6);
  for (int i = 0; i < 2000; ++i) {
    core::Hash result{};
    for (auto& b : result) b = static_cast<std::uint8_t>(rng.next());
    core::Target256 t;
    for (auto& l : t.limbs) l = rng.next();
    // Make the high limbs collide often so every comparison branch is taken.
    if (i % 3 == 0) {
      for (std::size_t k = 2; k < 4; ++k) {
        std::uint64_t v = 0;
        for (int b = 7; b >= 0; --b) v = (v << 8) | result[8 * k + static_cast<std::size_t>(b)];
        t.limbs[k] = v;
      }
    }
    t.never = i % 50 == 0;
    ASSERT_EQ(dev::target_met(result.data(), t.limbs.data(), t.never), t.met_by(result)) << test::seed_note();
  }
}

TEST(CudaDeviceCode, FusedSumPackAndFoldMatchCore) {
  test::TestRng rng(0xCF1);
  std::vector<std::uint8_t> lanes(4 * core::kMatrixBytes);
  for (auto& b : lanes) b = static_cast<std::uint8_t>(rng.next());
  core::SumMatrix sum{};
  for (std::size_t i = 0; i < sum.size(); ++i) {
    unsigned s = 0;
    for (std::size_t l = 0; l < 4; ++l) s += lanes[l * core::kMatrixBytes + i];
    sum[i] = static_cast<std::uint8_t>(s);
  }
  const std::uint8_t* const ptr[4] = {&lanes[0], &lanes[core::kMatrixBytes], &lanes[2 * core::kMatrixBytes],
                                      &lanes[3 * core::kMatrixBytes]};
  std::vector<std::uint32_t> w(128 * 64);
  for (std::uint32_t r = 0; r < 128; ++r) {
    for (std::uint32_t j = 0; j < 64; j += 4) dev::fold_pack_first(ptr, r, j, &w[r * 64 + j]);
  }
  dev::fnv_fold_rows(w.data(), 128, 1);
  std::array<std::uint8_t, 256> row0{};
  for (std::size_t i = 0; i < 256; ++i) row0[i] = static_cast<std::uint8_t>(w[i / 4] >> (8 * (i % 4)));
  EXPECT_EQ(row0, core::fnv_fold(sum)) << test::seed_note();
}

// mma.sync.m16n8k32.row.col.s32.s8.s8.s32 on a warp's registers, from the PTX ISA tables
// (element i of each operand, groupID = lane >> 2, threadID_in_group = lane % 4):
//   A a_i, i < 16: row = groupID for i < 4 or 8 <= i < 12, else groupID + 8;
//                  col = 4 * tig + (i & 3), + 16 for i >= 8
//   B b_i, i < 8:  row (k) = 4 * tig + (i & 3), + 16 for i >= 4; col (n) = groupID
//   C c_i, i < 4:  row = groupID, + 8 for i >= 2; col = 2 * tig + (i & 1)
// Element i of an operand is byte i % 4 of register i / 4.
using WarpA = std::array<std::array<std::uint32_t, 4>, 32>;
using WarpB = std::array<std::array<std::uint32_t, 2>, 32>;
using WarpC = std::array<std::array<std::int32_t, 4>, 32>;

std::int8_t byte_of(std::uint32_t reg, int i) { return static_cast<std::int8_t>(reg >> (8 * (i % 4))); }

void emulate_mma(const WarpA& a, const WarpB& b, WarpC& c) {
  std::int32_t am[16][32] = {};
  std::int32_t bm[32][8] = {};
  for (int lane = 0; lane < 32; ++lane) {
    const int g = lane >> 2, t = lane % 4;
    for (int i = 0; i < 16; ++i) {
      const int row = (i < 4 || (i >= 8 && i < 12)) ? g : g + 8;
      const int col = 4 * t + (i & 3) + (i >= 8 ? 16 : 0);
      am[row][col] = byte_of(a[lane][i / 4], i);
    }
    for (int i = 0; i < 8; ++i) {
      const int k = 4 * t + (i & 3) + (i >= 4 ? 16 : 0);
      bm[k][g] = byte_of(b[lane][i / 4], i);
    }
  }
  for (int lane = 0; lane < 32; ++lane) {
    const int g = lane >> 2, t = lane % 4;
    for (int i = 0; i < 4; ++i) {
      const int row = g + (i >= 2 ? 8 : 0);
      const int col = 2 * t + (i & 1);
      std::int32_t s = 0;
      for (int k = 0; k < 32; ++k) s += am[row][k] * bm[k][col];
      c[lane][i] += s;
    }
  }
}

// One product of the imma kernel for a 32-row warp block, with 32 emulated lanes and the
// kernel's own fragment loads, B offsets and epilogue.
void emulate_warp_product(std::vector<std::uint8_t>& as, const std::vector<std::uint8_t>& bs, std::uint32_t wrow) {
  std::array<std::uint32_t[2][8][4], 32> a{};
  for (std::uint32_t lane = 0; lane < 32; ++lane) dev::imma_load_a(as.data(), wrow, lane, a[lane]);
  for (std::uint32_t nc = 0; nc < 8; ++nc) {
    std::array<int[2][4][4], 32> acc{};
    for (std::uint32_t kk = 0; kk < 8; ++kk) {
      for (std::uint32_t nt = 0; nt < 4; ++nt) {
        WarpB b{};
        for (std::uint32_t lane = 0; lane < 32; ++lane) {
          for (std::uint32_t r = 0; r < 2; ++r) b[lane][r] = dev::load_word(&bs[dev::imma_b_offset(nc, nt, kk, lane, r)]);
        }
        for (int mt = 0; mt < 2; ++mt) {
          WarpA af{};
          WarpC cf{};
          for (int lane = 0; lane < 32; ++lane) {
            for (int r = 0; r < 4; ++r) {
              af[lane][r] = a[lane][mt][kk][r];
              cf[lane][r] = acc[lane][mt][nt][r];
            }
          }
          emulate_mma(af, b, cf);
          for (int lane = 0; lane < 32; ++lane) {
            for (int r = 0; r < 4; ++r) acc[lane][mt][nt][r] = cf[lane][r];
          }
        }
      }
    }
    for (std::uint32_t lane = 0; lane < 32; ++lane) dev::imma_store_c(as.data(), wrow, nc, lane, acc[lane]);
  }
}

TEST(CudaDeviceCode, ImmaWarpProductIsReducedATimesBTransposed) {
  test::TestRng rng(0xC1AA);
  // Two warps' blocks of a 64-row CTA tile, so the swizzle sees rows beyond the first 32.
  constexpr std::uint32_t kRows = 64;
  std::vector<std::int8_t> a(kRows * 256), b(256 * 256);
  for (auto& v : a) v = static_cast<std::int8_t>(rng.next());
  for (auto& v : b) v = static_cast<std::int8_t>(rng.next());
  std::vector<std::uint8_t> as(kRows * 256), bs(256 * 256);
  for (std::uint32_t r = 0; r < kRows; ++r) {
    for (std::uint32_t c = 0; c < 256; ++c) as[dev::swizzle(r, c)] = static_cast<std::uint8_t>(a[r * 256 + c]);
  }
  for (std::uint32_t r = 0; r < 256; ++r) {
    for (std::uint32_t c = 0; c < 256; ++c) bs[dev::swizzle(r, c)] = static_cast<std::uint8_t>(b[r * 256 + c]);
  }
  emulate_warp_product(as, bs, 0);
  emulate_warp_product(as, bs, 32);
  for (std::uint32_t r = 0; r < kRows; ++r) {
    for (std::uint32_t c = 0; c < 256; ++c) {
      std::int32_t s = 0;
      for (std::uint32_t t = 0; t < 256; ++t) s += a[r * 256 + t] * b[c * 256 + t];
      ASSERT_EQ(static_cast<std::int8_t>(as[dev::swizzle(r, c)]), core::reduce(s))
          << "row " << r << " col " << c << "; " << test::seed_note();
    }
  }
}

TEST(CudaDeviceCode, SwizzleIsABijectionPerRowAndConflictFreeForFragments) {
  for (std::uint32_t r = 0; r < 256; ++r) {
    std::array<bool, 256> seen{};
    for (std::uint32_t c = 0; c < 256; ++c) {
      const std::uint32_t off = dev::swizzle(r, c);
      ASSERT_EQ(off / 256, r);
      ASSERT_FALSE(seen[off % 256]);
      seen[off % 256] = true;
    }
  }
  // One B-fragment load: 32 lanes, 32 distinct banks (4-byte words mod 32).
  for (std::uint32_t kk = 0; kk < 8; ++kk) {
    for (std::uint32_t r = 0; r < 2; ++r) {
      std::array<bool, 32> bank{};
      for (std::uint32_t lane = 0; lane < 32; ++lane) {
        const std::uint32_t b = (dev::imma_b_offset(3, 1, kk, lane, r) / 4) % 32;
        EXPECT_FALSE(bank[b]) << "kk " << kk << " reg " << r << " lane " << lane;
        bank[b] = true;
      }
    }
  }
}

}  // namespace
}  // namespace tensority::kernels::cuda
