#include "tensority/core/target.hpp"

#include <cstddef>

namespace tensority::core {
namespace {

constexpr std::uint64_t kMantissaMask = 0x007FFFFFFFFFFFFFULL;
constexpr std::uint64_t kNegativeBit = 0x0080000000000000ULL;

std::uint64_t load_le64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

// Byte length of |n| (Go's len(n.Bytes())); 0 for n == 0.
std::size_t byte_length(const BigInt& magnitude) {
  if (magnitude.is_zero()) return 0;
  return static_cast<std::size_t>(boost::multiprecision::msb(magnitude)) / 8 + 1;
}

}  // namespace

BigInt compact_to_big(std::uint64_t bits) {
  const unsigned exponent = static_cast<unsigned>(bits >> 56);
  const std::uint64_t mantissa = bits & kMantissaMask;
  BigInt value;
  if (exponent <= 3) {
    value = mantissa >> (8 * (3 - exponent));
  } else {
    value = mantissa;
    value <<= 8 * (exponent - 3);
  }
  if ((bits & kNegativeBit) != 0) value = -value;
  return value;
}

std::uint64_t big_to_compact(const BigInt& value) {
  if (value.is_zero()) return 0;
  const bool negative = value.sign() < 0;
  BigInt magnitude = value;
  if (negative) magnitude = -magnitude;
  const std::size_t exponent = byte_length(magnitude);
  BigInt mantissa_big;
  if (exponent <= 3) {
    mantissa_big = magnitude << (8 * (3 - exponent));
  } else {
    const auto shift = static_cast<unsigned>(8 * (exponent - 3));
    mantissa_big = magnitude >> shift;
    // Go shifts the signed value arithmetically, i.e. floor(n / 2^shift); for a negative n
    // that is the magnitude rounded up whenever a set bit falls off.
    if (negative && (mantissa_big << shift) != magnitude) ++mantissa_big;
  }
  // Go keeps only the lowest machine word of the shifted magnitude; it is at most 4 bytes.
  const auto mantissa = static_cast<std::uint64_t>(mantissa_big & BigInt(~std::uint64_t{0}));
  // uint64(exponent << 56): only the low byte of the exponent survives.
  std::uint64_t compact = (static_cast<std::uint64_t>(exponent) << 56) | mantissa;
  if (negative) compact |= kNegativeBit;
  return compact;
}

BigInt calc_work(std::uint64_t bits) {
  const BigInt target = compact_to_big(bits);
  if (target.sign() <= 0) return BigInt(0);
  return (BigInt(1) << 256) / (target + 1);
}

BigInt hash_to_big(const Hash& hash) {
  BigInt value;
  // import_bits wants the most significant chunk first; the hash is little-endian.
  boost::multiprecision::import_bits(value, hash.rbegin(), hash.rend(), 8);
  return value;
}

Target256 Target256::from_bits(std::uint64_t bits) {
  // Decoded directly rather than via BigInt: an exponent near 255 would otherwise build a
  // 2000-bit number just to clamp it.
  Target256 t;
  const unsigned exponent = static_cast<unsigned>(bits >> 56);
  const std::uint64_t mantissa = bits & kMantissaMask;
  if (exponent <= 3) {
    t.limbs[0] = mantissa >> (8 * (3 - exponent));
  } else if (mantissa != 0) {
    const unsigned shift = 8 * (exponent - 3);
    const unsigned top_bit = 63 - static_cast<unsigned>(__builtin_clzll(mantissa));
    if (shift + top_bit >= 256) {
      t.limbs.fill(~std::uint64_t{0});
    } else {
      const unsigned word = shift / 64;
      const unsigned bit = shift % 64;
      t.limbs[word] = mantissa << bit;
      if (bit != 0 && word + 1 < t.limbs.size()) t.limbs[word + 1] = mantissa >> (64 - bit);
    }
  }
  // A negative sign on a value that decodes to zero is just 0, which a zero result meets.
  const bool nonzero = (t.limbs[0] | t.limbs[1] | t.limbs[2] | t.limbs[3]) != 0;
  if ((bits & kNegativeBit) != 0 && nonzero) {
    t.limbs.fill(0);
    t.never = true;
  }
  return t;
}

Target256 Target256::from_big(const BigInt& target) {
  Target256 t;
  if (target.sign() < 0) {
    t.never = true;
    return t;
  }
  static const BigInt kMax = (BigInt(1) << 256) - 1;
  const BigInt clamped = target > kMax ? kMax : target;
  const BigInt word_mask(~std::uint64_t{0});
  for (std::size_t i = 0; i < t.limbs.size(); ++i) {
    t.limbs[i] = static_cast<std::uint64_t>((clamped >> (64 * i)) & word_mask);
  }
  return t;
}

bool Target256::met_by(const Hash& result) const {
  if (never) return false;
  for (std::size_t i = 4; i-- > 0;) {
    const std::uint64_t r = load_le64(result.data() + 8 * i);
    if (r != limbs[i]) return r < limbs[i];
  }
  return true;
}

bool check_pow(const Hash& result, std::uint64_t bits) {
  return Target256::from_bits(bits).met_by(result);
}

}  // namespace tensority::core
