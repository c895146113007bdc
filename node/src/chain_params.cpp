#include "tensority/node/chain_params.hpp"

#include <string>

#include "tensority/node/genesis.hpp"

namespace tensority::node {
namespace {

ChainParams make(Network net, std::string_view name, Block genesis, bool retarget, bool generate, std::uint16_t port) {
  ChainParams p;
  p.network = net;
  p.name = name;
  p.genesis_id = core::block_id(genesis.header);
  p.genesis = std::move(genesis);
  p.retarget = retarget;
  p.allow_generate = generate;
  p.rpc_port = port;
  return p;
}

}  // namespace

const ChainParams& chain_params(Network network) {
  // bytomd serves every network on 9888; distinct defaults let the three run side by side.
  static const ChainParams mainnet = make(Network::mainnet, "mainnet", mainnet_genesis(), true, false, 9888);
  static const ChainParams testnet = make(Network::testnet, "testnet", testnet_genesis(), true, false, 9889);
  static const ChainParams regtest = make(Network::regtest, "regtest", regtest_genesis(), false, true, 9890);
  switch (network) {
    case Network::mainnet: return mainnet;
    case Network::testnet: return testnet;
    case Network::regtest: return regtest;
  }
  return mainnet;
}

core::Result<Network> parse_network(std::string_view name) {
  if (name == "mainnet") return Network::mainnet;
  if (name == "testnet") return Network::testnet;
  if (name == "regtest") return Network::regtest;
  return core::Result<Network>::failure("unknown network '" + std::string(name) + "' (mainnet, testnet or regtest)");
}

std::string_view network_name(Network network) { return chain_params(network).name; }

}  // namespace tensority::node
