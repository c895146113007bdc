#pragma once
// What differs between the networks: genesis, the retarget, default ports and the address
// prefix (through Network).
#include <cstdint>
#include <string_view>

#include "tensority/core/types.hpp"
#include "tensority/node/address.hpp"
#include "tensority/node/block.hpp"

namespace tensority::node {

struct ChainParams {
  Network network = Network::mainnet;
  std::string_view name;     // "mainnet", "testnet", "regtest"
  Block genesis;
  core::Hash genesis_id{};
  // Regtest keeps its easy bits for ever: blocks made by `generate` come seconds apart, and
  // the unclamped retarget would otherwise raise the target's difficulty a thousandfold.
  bool retarget = true;
  bool allow_generate = false;  // the `generate` RPC
  std::uint16_t rpc_port = 9888;
};

const ChainParams& chain_params(Network network);
core::Result<Network> parse_network(std::string_view name);
std::string_view network_name(Network network);

}  // namespace tensority::node
