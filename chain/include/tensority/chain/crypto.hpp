#pragma once
// The hash and signature primitives the BVM and the wallet share (docs/spec/node.md 1.4, 1.13):
// HASH160 is a single RIPEMD-160, signatures are plain ed25519 over 32-byte messages.
#include <array>
#include <cstdint>
#include <span>

namespace tensority::chain {

using PubKey = std::array<std::uint8_t, 32>;
using Signature = std::array<std::uint8_t, 64>;
using Hash160 = std::array<std::uint8_t, 20>;

Hash160 ripemd160(std::span<const std::uint8_t> data);

// Strict ed25519 verification (libsodium): false for a malformed key or signature.
bool ed25519_verify(std::span<const std::uint8_t> signature, std::span<const std::uint8_t> message,
                    std::span<const std::uint8_t> public_key);

}  // namespace tensority::chain
