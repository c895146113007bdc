// Transactions and outputs: submit-transaction into the mempool, the unspent outputs of a
// program, the mempool, and where a transaction is.
#include "common.hpp"
#include "tensority/chain/entries.hpp"
#include "tensority/chain/transaction.hpp"
#include "tensority/chain/validation.hpp"
#include "tensority/core/hex.hpp"

namespace tensority::node::rpc {

using core::to_hex;

json submit_transaction(const Call& c) {
  const auto raw = req_hex(req_str(c.body, "raw_transaction"), "raw_transaction");
  auto tx = tensority::chain::parse_transaction(raw);
  if (!tx) bad_request("raw_transaction: " + tx.error());
  auto added = c.ctx.mempool->add(*tx);
  if (!added) refused(added.error());
  return json{{"tx_id", to_hex(*added)}};
}

json get_unspent_outputs(const Call& c) {
  const auto net = c.network();
  core::wire::Bytes program;
  if (auto a = opt_str(c.body, "address")) {
    program = req_address_program(*a, net);
  } else if (auto p = opt_str(c.body, "program")) {
    program = req_hex(*p, "program");
  } else {
    bad_request("give 'address' or 'program'");
  }
  std::optional<core::Hash> asset;
  if (auto a = opt_str(c.body, "asset_id")) asset = req_hash(*a, "asset_id");
  json data = json::array();
  for (const auto& [id, u] : c.chain().utxos_by_program(program, 10'000)) {
    if (asset && u.asset_id != *asset) continue;
    if (c.ctx.mempool->spends(id)) continue;
    data.push_back(json{{"id", to_hex(id)},
                        {"source_id", to_hex(u.source_id)},
                        {"source_pos", u.source_position},
                        {"asset_id", to_hex(u.asset_id)},
                        {"amount", u.amount},
                        {"vm_version", u.vm_version},
                        {"control_program", to_hex(u.control_program)},
                        {"address", address_or_empty(u.control_program, net)},
                        {"block_height", u.block_height},
                        {"is_coinbase", u.is_coinbase},
                        {"valid_height", u.is_coinbase ? u.block_height + tensority::chain::kCoinbaseMaturity : 0}});
  }
  return data;
}

json get_mempool(const Call& c) {
  json txs = json::array();
  for (const MempoolEntry& e : c.ctx.mempool->entries()) {
    txs.push_back(json{{"tx_id", to_hex(e.entries.tx_id)},
                       {"gas", e.validation.gas_used},
                       {"fee", e.validation.fee},
                       {"status_fail", e.validation.status_fail}});
  }
  return json{{"transactions", txs}};
}

json get_transaction(const Call& c) {
  const core::Hash tx_id = req_hash(req_str(c.body, "tx_id"), "tx_id");
  if (auto e = c.ctx.mempool->get(tx_id)) {
    return json{{"tx_id", to_hex(tx_id)}, {"status", "mempool"}, {"status_fail", e->validation.status_fail}};
  }
  Chain& chain = c.chain();
  const TipInfo tip = chain.tip();
  const std::uint64_t lowest = tip.height > 1000 ? tip.height - 1000 : 0;
  for (std::uint64_t h = tip.height + 1; h-- > lowest;) {
    const core::Hash id = *chain.hash_at(h);
    auto block = chain.block(id);
    if (!block) continue;
    for (std::size_t i = 0; i < block->transactions.size(); ++i) {
      if (tensority::chain::map_transaction(block->transactions[i]).tx_id != tx_id) continue;
      const auto meta = chain.meta(id);
      return json{{"tx_id", to_hex(tx_id)},
                  {"status", "confirmed"},
                  {"block_height", h},
                  {"block_hash", to_hex(id)},
                  {"status_fail", tx_status_fail(meta, i)}};
    }
  }
  refused("transaction " + to_hex(tx_id) + " is neither in the mempool nor in the last 1000 blocks");
}

}  // namespace tensority::node::rpc
