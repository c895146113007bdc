#pragma once
// The genesis blocks of the networks (upstream config/genesis.go facts, node spec Appendix A).
#include "tensority/chain/block.hpp"

namespace tensority::chain {

// The coinbase both upstream genesis blocks carry: 140,700,041,250,000,000 neu to
// 00148c9d063ff74ee6d9ffa88d83aeb038068366c4c4, with the "Information is power" text.
Transaction genesis_coinbase();

Block mainnet_genesis();  // timestamp 1524549600, bits 0x1e00000000011b68, nonce 9253507043297
Block testnet_genesis();  // "wisdom"/solonet: timestamp 1528945000, bits 0x20000000000ccccc
// regtest: the solonet bits (about 1 hash in 20 meets them) and its own timestamp.
inline constexpr std::uint64_t kRegtestGenesisTimestamp = 1767225600;  // 2026-01-01T00:00:00Z
inline constexpr std::uint64_t kRegtestGenesisNonce = 18;
Block regtest_genesis();

}  // namespace tensority::chain
