#include "tensority/core/matrix_cache.hpp"

#include <bit>
#include <cstring>
#include <stdexcept>

#include "tensority/core/sha3.hpp"

namespace tensority::core {
namespace {

// The cache bytes are the smix words serialised little-endian; on a little-endian host
// that is a plain copy, which is what every supported target is.
static_assert(std::endian::native == std::endian::little, "Tensority code assumes a little-endian host");

constexpr std::size_t kBlockWords = 32;   // r = 1: one 128-byte block
constexpr std::size_t kBlockBytes = 128;
constexpr std::size_t kSmixN = 1024;

using Block = std::uint32_t[kBlockWords];

// Salsa20/8 core (4 double rounds) with the feed-forward addition, in place.
inline void salsa20_8(std::uint32_t b[16]) {
  std::uint32_t x[16];
  std::memcpy(x, b, sizeof(x));
  auto qr = [&x](int a, int bb, int c, int d) {
    x[bb] ^= std::rotl(x[a] + x[d], 7);
    x[c] ^= std::rotl(x[bb] + x[a], 9);
    x[d] ^= std::rotl(x[c] + x[bb], 13);
    x[a] ^= std::rotl(x[d] + x[c], 18);
  };
  for (int i = 0; i < 4; ++i) {
    qr(0, 4, 8, 12);   // columns
    qr(5, 9, 13, 1);
    qr(10, 14, 2, 6);
    qr(15, 3, 7, 11);
    qr(0, 1, 2, 3);    // rows
    qr(5, 6, 7, 4);
    qr(10, 11, 8, 9);
    qr(15, 12, 13, 14);
  }
  for (int i = 0; i < 16; ++i) b[i] += x[i];
}

// scrypt BlockMix for r = 1: Y0 = Salsa(B1 ^ B0), Y1 = Salsa(Y0 ^ B1), X = Y0 || Y1.
inline void block_mix(Block x) {
  std::uint32_t t[16];
  for (int i = 0; i < 16; ++i) t[i] = x[16 + i] ^ x[i];
  salsa20_8(t);
  for (int i = 0; i < 16; ++i) x[i] = t[i];
  for (int i = 0; i < 16; ++i) t[i] ^= x[16 + i];
  salsa20_8(t);
  for (int i = 0; i < 16; ++i) x[16 + i] = t[i];
}

// Where block i of chunk c lives in the cache: even blocks make matrix 2c, odd ones 2c+1.
inline std::int8_t* block_slot(std::int8_t* out, std::size_t chunk, std::size_t i) {
  return out + (2 * chunk + (i & 1)) * kMatrixBytes + (i >> 1) * kBlockBytes;
}

}  // namespace

std::array<std::uint8_t, 128> extended_seed(const Hash& seed) {
  std::array<std::uint8_t, 128> e{};
  std::memcpy(e.data(), seed.data(), 32);
  for (std::size_t k = 1; k < 4; ++k) {
    const Hash h = sha3_256(std::span<const std::uint8_t>(e.data() + 32 * (k - 1), 32));
    std::memcpy(e.data() + 32 * k, h.data(), 32);
  }
  return e;
}

void build_cache(const Hash& seed, std::span<std::int8_t> out, const ChunkDone& on_chunk) {
  if (out.size() != kCacheBytes) throw std::invalid_argument("build_cache: output must be 16 MiB");
  const auto e = extended_seed(seed);
  Block x;
  std::memcpy(x, e.data(), kBlockBytes);

  for (std::size_t c = 0; c < kChunkCount; ++c) {
    for (std::size_t i = 0; i < kSmixN; ++i) {
      std::memcpy(block_slot(out.data(), c, i), x, kBlockBytes);
      block_mix(x);
    }
    for (std::size_t i = 0; i < kSmixN; ++i) {
      const std::size_t j = x[16] & (kSmixN - 1);
      Block v;
      std::memcpy(v, block_slot(out.data(), c, j), kBlockBytes);
      for (std::size_t w = 0; w < kBlockWords; ++w) x[w] ^= v[w];
      block_mix(x);
    }
    if (on_chunk) on_chunk(c);
  }
}

MatrixCache::MatrixCache(const Hash& seed) : seed_(seed), data_(kCacheBytes) {
  build_cache(seed, data_);
}

}  // namespace tensority::core
