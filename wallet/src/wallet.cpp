#include "tensority/wallet/wallet.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "json_util.hpp"
#include "tensority/core/hex.hpp"
#include "tensority/chain/address.hpp"
#include "tensority/chain/chain_params.hpp"
#include "tensority/chain/programs.hpp"

namespace tensority::wallet {
namespace {

using detail::FieldError;
using detail::json;


bool add_checked(std::uint64_t& acc, std::uint64_t v) {
  return !__builtin_add_overflow(acc, v, &acc);
}

}  // namespace

std::string default_node_url(chain::Network net) {
  return "http://127.0.0.1:" + std::to_string(chain::chain_params(net).rpc_port);
}

// ---------------------------------------------------------------------------------------------
// RPC client

core::Result<std::vector<Utxo>> RpcNode::unspent_outputs(std::string_view address) {
  auto data = client_.unspent_outputs(address);
  if (!data) return core::Result<std::vector<Utxo>>::failure(data.error());
  return parse_unspent_outputs(*data);
}

core::Result<std::vector<Utxo>> parse_unspent_outputs(std::string_view data_json) {
  using R = core::Result<std::vector<Utxo>>;
  auto doc = detail::parse_json(data_json, 4);
  if (!doc) return R::failure("get-unspent-outputs: " + doc.error());
  if (doc->is_null()) return std::vector<Utxo>{};
  if (!doc->is_array()) return R::failure("get-unspent-outputs: expected an array");
  std::vector<Utxo> out;
  try {
    for (std::size_t i = 0; i < doc->size(); ++i) {
      const json& e = (*doc)[i];
      const std::string where = "get-unspent-outputs[" + std::to_string(i) + "]";
      Utxo u;
      u.id = detail::get_hash(e, "id", where);
      u.source_id = detail::get_hash(e, "source_id", where);
      u.source_pos = detail::get_u64(e, "source_pos", where);
      u.asset_id = detail::get_hash(e, "asset_id", where);
      u.amount = detail::get_u64(e, "amount", where);
      u.vm_version = detail::get_u64(e, "vm_version", where);
      u.control_program = detail::get_hex(e, "control_program", where);
      if (const json* a = detail::optional_member(e, "address"); a != nullptr && a->is_string()) u.address = a->get<std::string>();
      u.block_height = detail::get_u64(e, "block_height", where);
      u.is_coinbase = detail::get_bool(e, "is_coinbase", where);
      u.valid_height = detail::get_u64(e, "valid_height", where);
      if (chain::spent_output_id(u.commitment()) != u.id) {
        throw FieldError(where + ": its fields do not hash to its id " + core::to_hex(u.id));
      }
      out.push_back(std::move(u));
    }
  } catch (const FieldError& e) {
    return R::failure(detail::one_line(e.what()));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Wallet

core::Result<std::vector<Utxo>> Wallet::utxos() {
  using R = core::Result<std::vector<Utxo>>;
  std::vector<Utxo> all;
  std::set<Hash> seen;
  for (const AddressEntry& a : keystore_.addresses()) {
    auto list = node_.unspent_outputs(a.address);
    if (!list) return R::failure(list.error());
    for (Utxo& u : std::move(list).value()) {
      if (u.control_program != a.program) {
        return R::failure("the node returned output " + core::to_hex(u.id) + " of another program for " + a.address);
      }
      if (seen.insert(u.id).second) all.push_back(std::move(u));
    }
  }
  return all;
}

core::Result<std::uint64_t> Wallet::next_height() {
  auto count = node_.block_count();
  if (!count) return count;
  return *count + 1;
}

core::Result<Balance> Wallet::balance() {
  using R = core::Result<Balance>;
  auto tip = node_.block_count();
  if (!tip) return R::failure(tip.error());
  auto list = utxos();
  if (!list) return R::failure(list.error());
  Balance b;
  b.height = *tip;
  std::map<Hash, AssetBalance> per;
  per[chain::kBtmAssetId].asset_id = chain::kBtmAssetId;
  for (const Utxo& u : *list) {
    AssetBalance& ab = per[u.asset_id];
    ab.asset_id = u.asset_id;
    ++ab.utxos;
    if (!add_checked(u.mature_at(*tip + 1) ? ab.confirmed : ab.immature, u.amount)) {
      return R::failure("the balance of " + core::to_hex(u.asset_id) + " overflows 64 bits");
    }
  }
  for (auto& [id, ab] : per) {
    if (id == chain::kBtmAssetId) {
      ab.symbol = "BTM";
    } else if (const AssetEntry* a = keystore_.find_asset(id)) {
      ab.symbol = asset_symbol(a->definition);
    }
  }
  b.assets.push_back(per[chain::kBtmAssetId]);
  for (auto& [id, ab] : per) {
    if (id != chain::kBtmAssetId) b.assets.push_back(ab);
  }
  return b;
}

core::Result<BuiltTx> Wallet::build(TxRequest request) {
  using R = core::Result<BuiltTx>;
  if (!keystore_.unlocked()) return R::failure("the key store is encrypted: a passphrase is needed to sign");
  auto height = next_height();
  if (!height) return R::failure(height.error());
  auto list = utxos();
  if (!list) return R::failure(list.error());
  request.height = *height;
  auto built = build_transaction(keystore_, *list, request);
  if (!built && built.error().starts_with("insufficient funds")) {
    // The node lists confirmed outputs not spent in its mempool: change from a pending
    // transaction only counts once that transaction is mined.
    return R::failure(built.error() + " (outputs of unconfirmed transactions count once they are mined)");
  }
  return built;
}

core::Result<BuiltTx> Wallet::prepare_send(const SendParams& params) {
  using R = core::Result<BuiltTx>;
  auto program = chain::address_to_program(params.to, keystore_.network());
  if (!program) return R::failure("recipient address: " + program.error());
  if (params.amount == 0) return R::failure("the amount must be at least 1");
  TxRequest req;
  req.outputs.push_back(Payment{params.asset_id, params.amount, std::move(program).value()});
  req.fee_margin_percent = params.fee_margin_percent;
  return build(std::move(req));
}

core::Result<BuiltTx> Wallet::prepare_issue(const IssueParams& params) {
  using R = core::Result<BuiltTx>;
  if (keystore_.keys().empty()) return R::failure("the wallet has no key to issue with: create a key first");
  const std::uint32_t key = params.key.value_or(0);
  const KeyEntry* k = keystore_.find_key(key);
  if (k == nullptr) return R::failure("no key " + std::to_string(key) + " in the wallet");
  if (params.amount == 0) return R::failure("the amount must be at least 1");
  Bytes to_program;
  if (params.to.empty()) {
    const AddressEntry* own = keystore_.p2wpkh_address_of(key);
    to_program = own != nullptr ? own->program : chain::p2wpkh_program_for_key(k->public_key);
  } else {
    auto p = chain::address_to_program(params.to, keystore_.network());
    if (!p) return R::failure("recipient address: " + p.error());
    to_program = std::move(p).value();
  }
  AssetEntry asset;
  asset.vm_version = 1;
  asset.key = key;
  asset.issuance_program = chain::p2wpkh_program_for_key(k->public_key);
  asset.definition = params.definition;
  asset.asset_id = chain::asset_id(asset.vm_version, asset.issuance_program, asset.definition);

  TxRequest req;
  req.issuances.push_back(IssuanceRequest{params.definition, key, params.amount, {}});
  req.outputs.push_back(Payment{asset.asset_id, params.amount, std::move(to_program)});
  req.fee_margin_percent = params.fee_margin_percent;
  auto built = build(std::move(req));
  if (!built) return built;
  if (auto st = keystore_.add_asset(asset); !st) return R::failure(st.error());
  return built;
}

core::Result<BuiltTx> Wallet::prepare_retire(const RetireParams& params) {
  if (params.amount == 0) return core::Result<BuiltTx>::failure("the amount must be at least 1");
  TxRequest req;
  req.outputs.push_back(Payment{params.asset_id, params.amount, chain::retirement_program(params.data)});
  req.fee_margin_percent = params.fee_margin_percent;
  return build(std::move(req));
}

core::Result<Hash> Wallet::submit(const BuiltTx& tx) {
  using R = core::Result<Hash>;
  const chain::TxValidation& v = tx.validation;
  if (!v.gas_valid || v.status_fail || !v.error.empty()) {
    return R::failure("refusing to submit an invalid transaction: " + (v.error.empty() ? "not valid" : v.error));
  }
  auto id = node_.submit_transaction(tx.raw);
  if (!id) return id;
  if (*id != tx.entries.tx_id) {
    return R::failure("the node reports transaction " + core::to_hex(*id) + ", expected " + core::to_hex(tx.entries.tx_id));
  }
  return id;
}

}  // namespace tensority::wallet
