#pragma once
// A deterministic ed25519 key for node tests (seed byte n repeated), with what the tests
// need of it: signatures, the raw public key and its P2WPKH program.
#include <sodium.h>

#include <array>
#include <cstdint>
#include <stdexcept>

#include "tensority/core/types.hpp"
#include "tensority/chain/programs.hpp"

namespace tensority::chain::test_support {

struct Key {
  PubKey pk{};
  std::array<std::uint8_t, 64> sk{};
  explicit Key(std::uint8_t n) {
    if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
    std::array<std::uint8_t, 32> seed{};
    seed.fill(n);
    crypto_sign_seed_keypair(pk.data(), sk.data(), seed.data());
  }
  core::wire::Bytes sign(const core::Hash& msg) const {
    core::wire::Bytes sig(64);
    crypto_sign_detached(sig.data(), nullptr, msg.data(), msg.size(), sk.data());
    return sig;
  }
  core::wire::Bytes pub() const { return core::wire::Bytes(pk.begin(), pk.end()); }
  core::wire::Bytes program() const { return p2wpkh_program_for_key(pk); }
};

}  // namespace tensority::chain::test_support
