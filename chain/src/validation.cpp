#include "tensority/chain/validation.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <unordered_map>
#include <variant>

#include "tensority/core/hex.hpp"
#include "tensority/chain/merkle.hpp"
#include "tensority/chain/programs.hpp"
#include "tensority/chain/vm.hpp"

namespace tensority::chain {
namespace {

constexpr std::uint64_t kGenesisSubsidy = 140'700'041'250'000'000;
constexpr std::uint64_t kBaseSubsidy = 41'250'000'000;  // 412.5 BTM
constexpr std::uint64_t kSubsidyHalvingInterval = 840'000;
constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

using Error = std::optional<std::string>;

std::string asset_text(const Hash& asset) { return asset == kBtmAssetId ? "BTM" : core::to_hex(asset); }

std::string input_text(std::size_t i) { return "input " + std::to_string(i); }
std::string output_text(std::size_t j) { return "output " + std::to_string(j); }

// Upstream's GasState, field for field: the budget left, what has been used, whether the
// storage gas has been paid (after which failures only mark the transaction status_fail).
struct GasState {
  std::int64_t left = 0;
  std::int64_t used = 0;
  std::int64_t storage = 0;
  std::uint64_t btm_value = 0;
  bool valid = false;
};

// One pass of upstream's checkValid over the entry graph, in its order: the mux balance sets
// the budget, the BTM inputs run on the 30,000 credit, the storage gas is paid, and only then
// do the other inputs run. The graph built by map_transaction has consistent back-links by
// construction, so only the checks that can fail on it are done here.
class TxChecker {
 public:
  TxChecker(const Transaction& tx, const TxEntries& entries, std::uint64_t height, bool coinbase_slot)
      : tx_(tx), e_(entries), height_(height), coinbase_slot_(coinbase_slot) {}

  TxValidation run() {
    TxValidation r;
    if (Error err = check(); err) r.error = std::move(*err);
    r.gas_valid = gas_.valid;
    r.status_fail = gas_.valid && !r.error.empty();
    r.gas_used = static_cast<std::uint64_t>(std::max<std::int64_t>(gas_.used, 0));
    r.fee = gas_.btm_value;
    return r;
  }

 private:
  bool known(std::size_t i) const { return !std::holds_alternative<OpaqueInput>(tx_.inputs[i].kind); }
  const SpendInput* spend(std::size_t i) const { return std::get_if<SpendInput>(&tx_.inputs[i].kind); }
  const IssuanceInput* issuance(std::size_t i) const { return std::get_if<IssuanceInput>(&tx_.inputs[i].kind); }
  const CoinbaseInput* coinbase(std::size_t i) const { return std::get_if<CoinbaseInput>(&tx_.inputs[i].kind); }
  bool btm_spend(std::size_t i) const {
    const SpendInput* s = spend(i);
    return s != nullptr && s->output.asset_id == kBtmAssetId;
  }

  Error check() {
    if (e_.input_ids.size() != tx_.inputs.size() || e_.result_ids.size() != tx_.outputs.size()) {
      return "entries do not belong to this transaction (map_transaction(tx) expected)";
    }
    if (tx_.version != 1) return "transaction version " + std::to_string(tx_.version) + ", must be 1";
    if (tx_.serialized_size == 0) return "transaction serialized size is 0";
    if (tx_.time_range != 0 && tx_.time_range < height_) {
      return "transaction expired: time_range " + std::to_string(tx_.time_range) + " is below block height " +
             std::to_string(height_);
    }
    find_representatives();
    if (Error err = check_standard(); err) return err;
    if (tx_.outputs.empty()) return "transaction has no outputs";
    if (Error err = check_balance(); err) return err;
    for (std::size_t i = 0; i < tx_.inputs.size(); ++i) {
      const std::size_t r = rep_[i];
      if (!known(i) || done_[r] || !(coinbase(r) != nullptr || btm_spend(r))) continue;
      done_[r] = true;
      if (Error err = coinbase(r) != nullptr ? check_coinbase(r) : run_program(r); err) return err;
    }
    if (Error err = pay_storage(); err) return err;
    for (std::size_t i = 0; i < tx_.inputs.size(); ++i) {
      if (!known(i)) continue;
      const std::size_t r = rep_[i];
      if (!done_[r]) {
        done_[r] = true;
        if (Error err = check_input(r); err) return err;
      }
      if (r != i) {
        return input_text(i) + " repeats " + input_text(r) + " (the same entry): mismatched value source position";
      }
    }
    return std::nullopt;
  }

  // Upstream keeps one entry per ID, the last input that produced it, and indexes its input
  // IDs by that entry's ordinal (0 for every coinbase). An earlier duplicate, a coinbase off
  // input 0 and an opaque input are all left without an ID.
  void find_representatives() {
    const std::size_t n = tx_.inputs.size();
    rep_.assign(n, 0);
    done_.assign(n, false);
    has_id_.assign(n, false);
    std::map<Hash, std::size_t> last;
    for (std::size_t i = 0; i < n; ++i) {
      if (known(i)) last[e_.input_ids[i]] = i;
    }
    for (std::size_t i = 0; i < n; ++i) rep_[i] = known(i) ? last[e_.input_ids[i]] : i;
    for (const auto& [id, k] : last) has_id_[coinbase(k) != nullptr ? 0 : k] = true;
  }

  Error check_standard() {
    if (height_ >= kStandardInputIdHeight) {
      for (std::size_t i = 0; i < tx_.inputs.size(); ++i) {
        if (!has_id_[i]) {
          return input_text(i) + " maps to no entry (opaque, a repeat of a later input, or a coinbase off input 0);"
                 " not allowed from height 142,500";
        }
      }
    }
    for (std::size_t i = 0; i < tx_.inputs.size(); ++i) {
      if (btm_spend(i) && rep_[i] == i && !is_p2w_program(spend(i)->output.control_program)) {
        return input_text(i) + " spends BTM from a non-standard program: BTM may only be held by P2WPKH, P2WSH, "
               "OP_TRUE or OP_FAIL programs";
      }
      // Not an upstream check: its asset-ID rule only stops a BTM issuance after the fee has
      // counted the issued BTM. Refusing it outright keeps that from ever minting BTM.
      if (const IssuanceInput* is = issuance(i); is != nullptr && is->asset_id == kBtmAssetId) {
        return input_text(i) + " issues BTM, which only the coinbase may create";
      }
    }
    for (std::size_t j = 0; j < tx_.outputs.size(); ++j) {
      const TxOutput& o = tx_.outputs[j];
      if (!e_.retired[j] && o.asset_id == kBtmAssetId && !is_p2w_program(o.control_program)) {
        return output_text(j) + " sends BTM to a non-standard program: only P2WPKH, P2WSH, OP_TRUE or OP_FAIL may "
               "receive BTM";
      }
    }
    return std::nullopt;
  }

  // The mux: every asset balances except BTM, whose surplus is the fee and sets the gas budget.
  // Sums are int64 as upstream's, with overflow refused.
  Error check_balance() {
    std::map<Hash, std::int64_t> parity;
    for (std::size_t i = 0; i < tx_.inputs.size(); ++i) {
      if (!known(i)) continue;
      Hash asset{};
      std::uint64_t amount = 0;
      if (const SpendInput* s = spend(i)) {
        asset = s->output.asset_id;
        amount = s->output.amount;
      } else if (const IssuanceInput* is = issuance(i)) {
        asset = is->asset_id;
        amount = is->amount;
      } else {  // the coinbase brings whatever output 0 carries
        asset = tx_.outputs[0].asset_id;
        amount = tx_.outputs[0].amount;
      }
      if (amount > static_cast<std::uint64_t>(kInt64Max)) return input_text(i) + " amount exceeds 2^63-1";
      std::int64_t& sum = parity[asset];
      if (__builtin_add_overflow(sum, static_cast<std::int64_t>(amount), &sum)) {
        return input_text(i) + ": the input total of " + asset_text(asset) + " overflows int64";
      }
    }
    for (std::size_t j = 0; j < tx_.outputs.size(); ++j) {
      const TxOutput& o = tx_.outputs[j];
      const auto it = parity.find(o.asset_id);
      if (it == parity.end()) return output_text(j) + " pays " + asset_text(o.asset_id) + ", which no input brings";
      if (o.amount > static_cast<std::uint64_t>(kInt64Max)) return output_text(j) + " amount exceeds 2^63-1";
      if (__builtin_sub_overflow(it->second, static_cast<std::int64_t>(o.amount), &it->second)) {
        return output_text(j) + ": inputs minus outputs of " + asset_text(o.asset_id) + " underflows int64";
      }
    }
    for (const auto& [asset, surplus] : parity) {
      if (asset != kBtmAssetId && surplus != 0) {
        return "asset " + asset_text(asset) + " does not balance: inputs minus outputs = " + std::to_string(surplus);
      }
    }
    if (const auto it = parity.find(kBtmAssetId); it != parity.end()) {
      if (it->second < 0) return "BTM outputs exceed BTM inputs by " + std::to_string(-it->second) + " neu";
      if (tx_.serialized_size > static_cast<std::uint64_t>(kInt64Max)) return "serialized size overflows the gas arithmetic";
      gas_.btm_value = static_cast<std::uint64_t>(it->second);
      gas_.left = std::min(it->second / static_cast<std::int64_t>(kGasRate), static_cast<std::int64_t>(kMaxTxGas));
      gas_.storage = static_cast<std::int64_t>(tx_.serialized_size);  // 1 gas per byte
    }
    return std::nullopt;
  }

  Error check_coinbase(std::size_t i) {
    if (!coinbase_slot_) return input_text(i) + " is a coinbase, allowed only in the block's first transaction";
    if (tx_.outputs[0].asset_id != kBtmAssetId) return input_text(i) + ": the coinbase must pay BTM";
    const std::size_t size = coinbase(i)->arbitrary.size();
    if (size > kMaxCoinbaseArbitrary) {
      return input_text(i) + ": coinbase arbitrary data is " + std::to_string(size) + " bytes, over the " +
             std::to_string(kMaxCoinbaseArbitrary) + "-byte limit";
    }
    gas_.storage = 0;  // the coinbase pays no storage gas
    return std::nullopt;
  }

  Error check_input(std::size_t i) {
    if (const IssuanceInput* is = issuance(i)) {
      const Hash derived = asset_id(is->vm_version, is->issuance_program, is->asset_definition);
      if (derived != is->asset_id) {
        return input_text(i) + " issuance asset ID mismatch: its program and definition give " + core::to_hex(derived) +
               ", the input claims " + core::to_hex(is->asset_id);
      }
    }
    return run_program(i);  // a coinbase never gets here: it ran with the BTM inputs
  }

  // Runs a spend's control program or an issuance's issuance program on what is left of the
  // budget, then books the gas it used.
  Error run_program(std::size_t i) {
    bvm::Context ctx;
    ctx.tx_version = tx_.version;
    ctx.block_height = height_;
    ctx.tx_sighash = signature_hash(e_.input_ids[i], e_.tx_id);
    Bytes code;
    std::span<const Bytes> args;
    std::string what;
    if (const SpendInput* s = spend(i)) {
      ctx.vm_version = s->output.vm_version;
      code = bvm::witness_program(s->output.control_program);
      args = s->arguments;
      what = "control program";
    } else {
      const IssuanceInput* is = issuance(i);
      ctx.vm_version = is->vm_version;
      code = bvm::witness_program(is->issuance_program);
      args = is->arguments;
      what = "issuance program";
    }
    const bvm::Outcome out = bvm::verify(ctx, code, args, gas_.left);
    if (!out.ok()) return input_text(i) + " " + what + ": " + out.error;
    return book_gas(i, out.gas_left);
  }

  // Upstream's updateUsage: before the storage gas is paid, the BTM inputs together may use at
  // most the 30,000 credit and must leave the storage gas in the budget.
  Error book_gas(std::size_t i, std::int64_t left_after) {
    if (left_after < 0 || left_after > gas_.left) return input_text(i) + ": gas calculation error";
    gas_.used += gas_.left - left_after;
    gas_.left = left_after;
    if (!gas_.valid) {
      if (gas_.used > static_cast<std::int64_t>(kDefaultGasCredit)) {
        return input_text(i) + ": BTM input programs used " + std::to_string(gas_.used) + " gas, over the " +
               std::to_string(kDefaultGasCredit) + " credit they run on";
      }
      if (gas_.storage > gas_.left) {
        return input_text(i) + ": the fee leaves " + std::to_string(gas_.left) + " gas after the BTM input programs, "
               "short of the " + std::to_string(gas_.storage) + " storage gas";
      }
    }
    return std::nullopt;
  }

  // Upstream's setGasValid: from here on a failure is status_fail, not an invalid transaction.
  Error pay_storage() {
    if (gas_.left < gas_.storage) {
      return "insufficient fee: " + std::to_string(gas_.btm_value) + " neu leaves " + std::to_string(gas_.left) +
             " gas, short of the " + std::to_string(gas_.storage) + " storage gas (1 per serialized byte)";
    }
    gas_.left -= gas_.storage;
    gas_.used += gas_.storage;
    gas_.valid = true;
    return std::nullopt;
  }

  const Transaction& tx_;
  const TxEntries& e_;
  std::uint64_t height_;
  bool coinbase_slot_;
  GasState gas_;
  std::vector<std::size_t> rep_;  // per input: the input whose entry upstream keeps for its ID
  std::vector<bool> done_;        // per representative: checked already (upstream's cache)
  std::vector<bool> has_id_;      // per input: upstream's InputIDs[i] is not zero
};

}  // namespace

std::uint64_t block_subsidy(std::uint64_t height) {
  if (height == 0) return kGenesisSubsidy;
  const std::uint64_t halvings = height / kSubsidyHalvingInterval;
  return halvings >= 64 ? 0 : kBaseSubsidy >> halvings;  // Go's shift yields 0 past 63
}

TxValidation validate_transaction(const Transaction& tx, const TxEntries& entries, std::uint64_t block_height,
                                  bool coinbase_slot) {
  return TxChecker(tx, entries, block_height, coinbase_slot).run();
}

core::Result<BlockValidation> validate_block_body(const Block& block, const std::vector<TxEntries>& entries) {
  using R = core::Result<BlockValidation>;
  const auto& txs = block.transactions;
  if (entries.size() != txs.size()) return R::failure("entries do not match the block's transactions");
  if (txs.empty()) return R::failure("block has no transactions: the coinbase must be transaction 0");
  const std::uint64_t height = block.header.height;

  BlockValidation v;
  v.txs.reserve(txs.size());
  v.status_fail.reserve(txs.size());
  // Upstream sums into a uint64 without an overflow check; the wrap is kept (it cannot happen
  // with real amounts, and mirroring it keeps the rule identical if it ever did).
  std::uint64_t coinbase_amount = block_subsidy(height);
  for (std::size_t i = 0; i < txs.size(); ++i) {
    TxValidation t = validate_transaction(txs[i], entries[i], height, i == 0);
    if (!t.gas_valid) return R::failure("transaction " + std::to_string(i) + " is invalid: " + t.error);
    v.status_fail.push_back(!t.error.empty());
    coinbase_amount += t.fee;
    v.fees += t.fee;
    v.gas_used += t.gas_used;  // storage gas included; the coinbase reports 0
    if (v.gas_used > kMaxBlockGas) {
      return R::failure("block gas " + std::to_string(v.gas_used) + " exceeds the " + std::to_string(kMaxBlockGas) +
                        " limit at transaction " + std::to_string(i));
    }
    v.txs.push_back(std::move(t));
  }

  // Upstream only looks at transaction 0's single result here; a coinbase input anywhere else
  // already failed that transaction.
  const Transaction& cb = txs[0];
  if (cb.outputs.size() != 1) {
    return R::failure("coinbase transaction must have exactly one output, has " + std::to_string(cb.outputs.size()));
  }
  if (entries[0].retired[0]) return R::failure("coinbase output 0 is a retirement, not an output");
  if (cb.outputs[0].amount != coinbase_amount) {
    return R::failure("coinbase pays " + std::to_string(cb.outputs[0].amount) + " neu, want subsidy " +
                      std::to_string(block_subsidy(height)) + " + fees " + std::to_string(v.fees) + " = " +
                      std::to_string(coinbase_amount));
  }

  std::vector<Hash> ids;
  ids.reserve(entries.size());
  for (const TxEntries& e : entries) ids.push_back(e.tx_id);
  if (transactions_merkle_root(ids) != block.header.transactions_merkle_root) {
    return R::failure("transaction merkle root does not match the header");
  }
  if (status_merkle_root(v.status_fail) != block.header.transaction_status_hash) {
    return R::failure("transaction status merkle root does not match the header");
  }
  return v;
}

}  // namespace tensority::chain
