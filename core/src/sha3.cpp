#include "tensority/core/sha3.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace tensority::core {

Hash sha3_256(std::span<const std::uint8_t> data) {
  Hash out{};
  unsigned int len = 0;
  // EVP_sha3_256() is OpenSSL's static method table; the one-shot digest keeps no state.
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha3_256(), nullptr) != 1 ||
      len != out.size()) {
    throw std::runtime_error("OpenSSL SHA3-256 failed");
  }
  return out;
}

}  // namespace tensority::core
