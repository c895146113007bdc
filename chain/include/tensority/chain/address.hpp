#pragma once
// Bytom addresses: segwit-style bech32 (BIP 173) with the network's prefix (bm mainnet, tm
// testnet, sm solonet/regtest), witness version 0 and a 20-byte (P2WPKH) or 32-byte (P2WSH)
// program. The control program an address stands for is 0x00, push length, program.
#include <span>
#include <string>
#include <string_view>

#include "tensority/core/types.hpp"
#include "tensority/core/wire.hpp"

namespace tensority::chain {

enum class Network { mainnet, testnet, solonet, regtest };

std::string_view address_prefix(Network net);  // "bm", "tm", "sm" (solonet and regtest)

// Parser of user and network input: a clear error for a wrong prefix, checksum, version or
// length; mixed case is refused as BIP 173 requires.
core::Result<core::wire::Bytes> address_to_program(std::string_view address, Network net);
core::Result<std::string> program_to_address(std::span<const std::uint8_t> program, Network net);

// BIP 173 primitives, exposed for tests and the wallet.
std::string bech32_encode(std::string_view hrp, std::span<const std::uint8_t> data5);
struct Bech32Decoded {
  std::string hrp;
  core::wire::Bytes data5;  // 5-bit groups, checksum removed
};
core::Result<Bech32Decoded> bech32_decode(std::string_view text);

}  // namespace tensority::chain
