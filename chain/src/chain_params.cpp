#include "tensority/chain/chain_params.hpp"

#include <string>

#include "tensority/chain/genesis.hpp"

namespace tensority::chain {
namespace {

ChainParams make(Network net, std::string_view name, std::string_view wire_name, Block genesis, bool retarget,
                 bool generate, std::uint16_t port, std::uint16_t p2p_port) {
  ChainParams p;
  p.network = net;
  p.name = name;
  p.wire_name = wire_name;
  p.p2p_port = p2p_port;
  p.genesis_id = core::block_id(genesis.header);
  p.genesis = std::move(genesis);
  p.retarget = retarget;
  p.allow_generate = generate;
  p.rpc_port = port;
  return p;
}

// Names come from users and from remote nodes: keep the message one short printable line.
std::string printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 40)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (text.size() > 40) out += "...";
  return out;
}

}  // namespace

const ChainParams& chain_params(Network network) {
  // bytomd serves every network's RPC on 9888. Solonet keeps that, so a bytomd solonet user's
  // miners and scripts work unchanged; testnet and regtest have their own ports so that they
  // can run beside a mainnet node.
  static const ChainParams mainnet =
      make(Network::mainnet, "mainnet", "mainnet", mainnet_genesis(), true, false, 9888, 46657);
  static const ChainParams testnet =
      make(Network::testnet, "testnet", "wisdom", testnet_genesis(), true, false, 9889, 46656);
  static const ChainParams solonet =
      make(Network::solonet, "solonet", "solonet", testnet_genesis(), true, false, 9888, 46658);
  static const ChainParams regtest =
      make(Network::regtest, "regtest", "regtest", regtest_genesis(), false, true, 9890, 46659);
  switch (network) {
    case Network::mainnet: return mainnet;
    case Network::testnet: return testnet;
    case Network::solonet: return solonet;
    case Network::regtest: return regtest;
  }
  return mainnet;
}

core::Result<Network> parse_network(std::string_view name) {
  if (name == "mainnet") return Network::mainnet;
  if (name == "testnet" || name == "wisdom") return Network::testnet;
  if (name == "solonet") return Network::solonet;
  if (name == "regtest") return Network::regtest;
  return core::Result<Network>::failure("unknown network '" + printable(name) +
                                        "' (mainnet, testnet, solonet or regtest)");
}

core::Result<Network> network_from_wire_name(std::string_view wire_name) {
  for (Network n : {Network::mainnet, Network::testnet, Network::solonet, Network::regtest}) {
    if (chain_params(n).wire_name == wire_name) return n;
  }
  return core::Result<Network>::failure("unknown network_id '" + printable(wire_name) +
                                        "' (bytomd's are mainnet, wisdom and solonet)");
}

std::string_view network_name(Network network) { return chain_params(network).name; }

}  // namespace tensority::chain
