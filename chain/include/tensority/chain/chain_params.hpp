#pragma once
// What differs between the networks: genesis, the retarget, default ports, the name bytomd
// gives the network on the wire and in net-info, and the address prefix (through Network).
// mainnet, testnet ("wisdom") and solonet are bytomd v1.1.1's; regtest is ours.
#include <cstdint>
#include <string_view>

#include "tensority/core/types.hpp"
#include "tensority/chain/address.hpp"
#include "tensority/chain/block.hpp"

namespace tensority::chain {

struct ChainParams {
  Network network = Network::mainnet;
  std::string_view name;     // ours: "mainnet", "testnet", "solonet", "regtest"
  std::string_view wire_name;  // bytomd's chain_id: "mainnet", "wisdom", "solonet" ("regtest": ours only)
  Block genesis;
  core::Hash genesis_id{};
  // Regtest keeps its easy bits for ever: blocks made by `generate` come seconds apart, and
  // the unclamped retarget would otherwise raise the target's difficulty a thousandfold.
  bool retarget = true;
  bool allow_generate = false;  // the `generate` RPC
  std::uint16_t rpc_port = 9888;
  std::uint16_t p2p_port = 46657;  // bytomd's default peer port (P2P is not built yet)
};

const ChainParams& chain_params(Network network);
// Our names, and bytomd's "wisdom" for testnet; a clear error for anything else.
core::Result<Network> parse_network(std::string_view name);
// A bytomd net-info network_id (its chain_id): "mainnet", "wisdom", "solonet"; our nodes
// also answer "regtest".
core::Result<Network> network_from_wire_name(std::string_view wire_name);
std::string_view network_name(Network network);

}  // namespace tensority::chain
