#pragma once
// tensority::wallet: an external signer working against a node's RPC (docs/rpc.md). The
// `tensority wallet` command is a thin layer over this API:
//
//   auto ks = wallet::Keystore::load(path);           // or Keystore::create(...)
//   auto client = noderpc::Client::create("http://127.0.0.1:9890", token);
//   wallet::RpcNode node(*client);
//   wallet::Wallet w(*ks, node);
//   auto tx = w.prepare_send({.to = "sm1q...", .amount = 1000});
//   auto id = w.submit(*tx);
//
// Nothing here writes the key store: callers save() it after a change (new keys, addresses,
// issued assets).
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tensority/noderpc/client.hpp"
#include "tensority/wallet/builder.hpp"
#include "tensority/wallet/keystore.hpp"

namespace tensority::wallet {

// The node operations the wallet needs; tests substitute a fake.
class NodeClient {
 public:
  virtual ~NodeClient() = default;
  // get-block-count: the best height.
  virtual core::Result<std::uint64_t> block_count() = 0;
  // get-unspent-outputs for one address.
  virtual core::Result<std::vector<Utxo>> unspent_outputs(std::string_view address) = 0;
  // submit-transaction: the ID the node reports.
  virtual core::Result<Hash> submit_transaction(std::span<const std::uint8_t> raw) = 0;
};

// Default RPC URL per network: mainnet :9888, testnet :9889, regtest :9890 on 127.0.0.1.
std::string default_node_url(chain::Network net);

// The wallet's node over RPC: noderpc::Client, the client the miner and the pool use too.
class RpcNode : public NodeClient {
 public:
  explicit RpcNode(noderpc::Client client) : client_(std::move(client)) {}
  const noderpc::Client& client() const { return client_; }

  core::Result<std::uint64_t> block_count() override { return client_.block_count(); }
  core::Result<std::vector<Utxo>> unspent_outputs(std::string_view address) override;
  core::Result<Hash> submit_transaction(std::span<const std::uint8_t> raw) override {
    return client_.submit_transaction(raw);
  }

 private:
  noderpc::Client client_;
};

// get-unspent-outputs "data" (a JSON array) as UTXOs; each entry's id must match the
// commitment it describes.
core::Result<std::vector<Utxo>> parse_unspent_outputs(std::string_view data_json);

struct AssetBalance {
  Hash asset_id{};
  std::string symbol;            // from the wallet's own issued assets; "BTM" for BTM
  std::uint64_t confirmed = 0;   // spendable in the next block
  std::uint64_t immature = 0;    // coinbase outputs not yet mature
  std::size_t utxos = 0;
};

struct Balance {
  std::uint64_t height = 0;       // best height when asked
  std::vector<AssetBalance> assets;  // BTM first, then by asset ID
};

struct SendParams {
  std::string to;                        // address on the store's network
  std::uint64_t amount = 0;              // neu (or the asset's smallest unit)
  Hash asset_id = chain::kBtmAssetId;
  unsigned fee_margin_percent = 10;
};

struct IssueParams {
  Bytes definition;                        // canonical_asset_definition output
  std::uint64_t amount = 0;
  std::string to;                          // empty: the issuing key's own address
  std::optional<std::uint32_t> key;        // issuing key; default: lowest-index key
  unsigned fee_margin_percent = 10;
};

struct RetireParams {
  std::uint64_t amount = 0;
  Hash asset_id = chain::kBtmAssetId;
  Bytes data;                              // comment after OP_FAIL
  unsigned fee_margin_percent = 10;
};

class Wallet {
 public:
  Wallet(Keystore& keystore, NodeClient& node) : keystore_(keystore), node_(node) {}

  // Every unspent output of every wallet address, checked against the address program.
  core::Result<std::vector<Utxo>> utxos();
  // The height the next block will have (best height + 1).
  core::Result<std::uint64_t> next_height();
  core::Result<Balance> balance();

  core::Result<BuiltTx> prepare_send(const SendParams& params);
  // Issues an asset; records it in the key store (in memory) when built.
  core::Result<BuiltTx> prepare_issue(const IssueParams& params);
  core::Result<BuiltTx> prepare_retire(const RetireParams& params);
  // Submits a transaction that validated; checks the node reports the same ID.
  core::Result<Hash> submit(const BuiltTx& tx);

  Keystore& keystore() { return keystore_; }

 private:
  core::Result<BuiltTx> build(TxRequest request);

  Keystore& keystore_;
  NodeClient& node_;
};

}  // namespace tensority::wallet
