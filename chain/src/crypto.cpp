#include "tensority/chain/crypto.hpp"

#include <sodium.h>

#include <openssl/evp.h>

#include <memory>
#include <stdexcept>

namespace tensority::chain {

Hash160 ripemd160(std::span<const std::uint8_t> data) {
  Hash160 out{};
  unsigned int len = 0;
  // OpenSSL 3 serves RIPEMD-160 from its default provider (3.0.7 and later).
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_ripemd160(), nullptr) != 1 || len != out.size()) {
    throw std::runtime_error("RIPEMD-160 is not available from OpenSSL");
  }
  return out;
}

bool ed25519_verify(std::span<const std::uint8_t> signature, std::span<const std::uint8_t> message,
                    std::span<const std::uint8_t> public_key) {
  static const bool ready = sodium_init() >= 0;
  if (!ready) throw std::runtime_error("libsodium failed to initialise");
  if (signature.size() != crypto_sign_BYTES || public_key.size() != crypto_sign_PUBLICKEYBYTES) return false;
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(), public_key.data()) == 0;
}

}  // namespace tensority::chain
