#include "tensority/wallet/builder.hpp"

#include <sodium.h>

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

#include "json_util.hpp"
#include "tensority/core/hex.hpp"
#include "tensority/chain/programs.hpp"

namespace tensority::wallet {
namespace {

using detail::json;

constexpr std::size_t kIssuanceNonceBytes = 8;
constexpr unsigned kMaxFeeIterations = 16;
constexpr unsigned kMaxGasRetries = 4;

void init_sodium() {
  static const bool ready = sodium_init() >= 0;
  if (!ready) throw std::runtime_error("libsodium failed to initialise");
}

std::string asset_name(const Hash& asset) {
  return asset == chain::kBtmAssetId ? std::string("BTM") : "asset " + core::to_hex(asset);
}

// a + b, refusing anything past varint63 (what an amount may be on the wire).
bool add_amount(std::uint64_t& acc, std::uint64_t v) {
  std::uint64_t sum = 0;
  if (__builtin_add_overflow(acc, v, &sum) || sum > core::wire::kMaxVarint63) return false;
  acc = sum;
  return true;
}

// Rough VM gas of one input's program, only for the first fee guess: the real number comes
// from validate_transaction.
std::uint64_t estimated_input_gas(const AddressEntry& a) {
  if (a.kind == AddressKind::p2wpkh) return 2'000;
  return 2'000 + 1'100 * a.keys.size() + 2 * a.witness_script.size();
}

struct Issuance {
  IssuanceRequest request;
  Bytes program;
  Hash asset_id{};
};

struct Plan {
  const Keystore& ks;
  const TxRequest& req;
  std::vector<Issuance> issuances;
  std::map<Hash, std::uint64_t> paid;    // per asset: sum of payment outputs
  std::map<Hash, std::uint64_t> issued;  // per asset: sum of issuance amounts
  std::map<Hash, std::vector<Utxo>> candidates;  // mature wallet outputs, largest first
  std::map<Hash, std::uint64_t> immature;        // per asset: value in immature outputs
  Bytes change_program;
};

struct Attempt {
  BuiltTx built;
  std::string insufficient;  // non-empty: not enough funds for this fee
};

core::Result<Attempt> attempt(const Plan& plan, std::uint64_t fee) {
  using R = core::Result<Attempt>;
  Attempt out;
  // What each asset must bring in from UTXOs: payments (plus the fee for BTM) less what the
  // issuances create.
  std::map<Hash, std::uint64_t> need = plan.paid;
  if (!add_amount(need[chain::kBtmAssetId], fee)) return R::failure("amount plus fee overflows");
  std::vector<Utxo> spent;
  std::map<Hash, std::uint64_t> change;
  for (const auto& [asset, amount] : need) {
    const std::uint64_t issued = plan.issued.contains(asset) ? plan.issued.at(asset) : 0;
    std::uint64_t gathered = issued;
    if (gathered < amount) {
      const auto it = plan.candidates.find(asset);
      if (it != plan.candidates.end()) {
        for (const Utxo& u : it->second) {
          if (gathered >= amount) break;
          if (!add_amount(gathered, u.amount)) return R::failure("wallet balance of " + asset_name(asset) + " overflows");
          spent.push_back(u);
        }
      }
    }
    if (gathered < amount) {
      std::uint64_t spendable = 0;
      if (const auto it = plan.candidates.find(asset); it != plan.candidates.end()) {
        for (const Utxo& u : it->second) add_amount(spendable, u.amount);
      }
      std::string msg = "insufficient funds: need " + std::to_string(amount - issued) + " of " + asset_name(asset);
      if (asset == chain::kBtmAssetId) msg += " (neu, including an estimated fee of " + std::to_string(fee) + ")";
      msg += ", the wallet has " + std::to_string(spendable) + " spendable";
      if (const auto im = plan.immature.find(asset); im != plan.immature.end() && im->second > 0) {
        msg += " and " + std::to_string(im->second) + " in immature coinbase outputs";
      }
      out.insufficient = msg;
      return out;
    }
    if (gathered > amount) change[asset] = gathered - amount;
  }
  // Issued assets nobody pays: all of it comes back as change.
  for (const auto& [asset, amount] : plan.issued) {
    if (!need.contains(asset)) change[asset] = amount;
  }

  chain::Transaction tx;
  tx.version = 1;
  tx.time_range = 0;
  for (const Issuance& is : plan.issuances) {
    chain::IssuanceInput in;
    in.nonce = is.request.nonce;
    in.asset_id = is.asset_id;
    in.amount = is.request.amount;
    in.asset_definition = is.request.definition;
    in.vm_version = 1;
    in.issuance_program = is.program;
    tx.inputs.push_back(chain::TxInput{1, std::move(in), {}, {}});
    out.built.issued.push_back(is.asset_id);
  }
  for (const Utxo& u : spent) tx.inputs.push_back(chain::TxInput{1, chain::SpendInput{u.commitment(), {}}, {}, {}});
  for (const Payment& p : plan.req.outputs) {
    chain::TxOutput o;
    o.asset_id = p.asset_id;
    o.amount = p.amount;
    o.control_program = p.control_program;
    tx.outputs.push_back(std::move(o));
  }
  // Asset change first (by asset ID), BTM change last.
  auto add_change = [&](const Hash& asset, std::uint64_t amount) {
    chain::TxOutput o;
    o.asset_id = asset;
    o.amount = amount;
    o.control_program = plan.change_program;
    tx.outputs.push_back(std::move(o));
  };
  for (const auto& [asset, amount] : change) {
    if (asset != chain::kBtmAssetId && amount > 0) add_change(asset, amount);
  }
  if (const auto it = change.find(chain::kBtmAssetId); it != change.end() && it->second > 0) {
    add_change(chain::kBtmAssetId, it->second);
  }

  if (auto st = sign_transaction(plan.ks, tx); !st) return R::failure(st.error());
  Bytes raw = chain::serialize_transaction(tx);
  tx.serialized_size = raw.size();
  // The node reads these exact bytes: make sure they parse back to what was signed.
  const auto parsed = chain::parse_transaction(raw);
  if (!parsed || !(*parsed == tx)) {
    return R::failure("internal error: the signed transaction does not parse back" +
                      (parsed ? std::string() : ": " + parsed.error()));
  }
  out.built.entries = chain::map_transaction(tx);
  out.built.validation = chain::validate_transaction(tx, out.built.entries, plan.req.height, false);
  out.built.fee = out.built.validation.fee;
  out.built.gas_used = out.built.validation.gas_used;
  out.built.raw = std::move(raw);
  out.built.tx = std::move(tx);
  out.built.spent = std::move(spent);
  return out;
}

std::size_t utf8_length(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

bool has_control(std::string_view s, bool allow_newlines) {
  return std::any_of(s.begin(), s.end(), [&](char c) {
    const auto u = static_cast<unsigned char>(c);
    if (allow_newlines && (c == '\n' || c == '\t')) return false;
    return u < 0x20 || u == 0x7f;
  });
}

}  // namespace

chain::SpendCommitment Utxo::commitment() const {
  chain::SpendCommitment c;
  c.source_id = source_id;
  c.asset_id = asset_id;
  c.amount = amount;
  c.source_position = source_pos;
  c.vm_version = vm_version;
  c.control_program = control_program;
  return c;
}

std::uint64_t fee_for_gas(std::uint64_t gas_used, unsigned margin_percent) {
  std::uint64_t scaled = 0;
  std::uint64_t fee = 0;
  if (__builtin_mul_overflow(gas_used, std::uint64_t{100} + margin_percent, &scaled) ||
      __builtin_mul_overflow((scaled / 100) + (scaled % 100 != 0 ? 1 : 0), chain::kGasRate, &fee) ||
      fee > core::wire::kMaxVarint63) {
    return core::wire::kMaxVarint63;
  }
  return fee;
}

core::Result<Bytes> default_change_program(const Keystore& keystore) {
  const AddressEntry* best = nullptr;
  for (const auto& a : keystore.addresses()) {
    if (a.kind == AddressKind::p2wpkh && (best == nullptr || a.keys[0] < best->keys[0])) best = &a;
  }
  if (best == nullptr && !keystore.addresses().empty()) best = &keystore.addresses().front();
  if (best == nullptr) return core::Result<Bytes>::failure("the wallet has no address for change: create a key first");
  return best->program;
}

Status sign_transaction(const Keystore& keystore, chain::Transaction& tx) {
  const chain::TxEntries entries = chain::map_transaction(tx);
  for (std::size_t i = 0; i < tx.inputs.size(); ++i) {
    const std::string where = "input " + std::to_string(i);
    const chain::Hash msg = chain::signature_hash(entries.input_ids[i], entries.tx_id);
    std::vector<Bytes>* args = nullptr;
    const AddressEntry* addr = nullptr;
    if (auto* sp = std::get_if<chain::SpendInput>(&tx.inputs[i].kind)) {
      addr = keystore.find_program(sp->output.control_program);
      if (addr == nullptr) return Status::failure(where + " spends a program that is not in the wallet");
      args = &sp->arguments;
    } else if (auto* is = std::get_if<chain::IssuanceInput>(&tx.inputs[i].kind)) {
      addr = keystore.find_program(is->issuance_program);
      if (addr == nullptr || addr->kind != AddressKind::p2wpkh) {
        return Status::failure(where + ": the issuance program is not the P2WPKH program of a wallet key");
      }
      args = &is->arguments;
    } else {
      return Status::failure(where + " is neither a spend nor an issuance");
    }
    std::vector<Bytes> out;
    if (addr->kind == AddressKind::p2wpkh) {
      // [signature, pubkey]: P2WPKH checks HASH160(pubkey), then CHECKSIG over the sighash.
      auto sig = keystore.sign(addr->keys[0], msg);
      if (!sig) return Status::failure(where + ": " + sig.error());
      const KeyEntry* key = keystore.find_key(addr->keys[0]);
      out.emplace_back(sig->begin(), sig->end());
      out.emplace_back(key->public_key.begin(), key->public_key.end());
    } else {
      // P2WSH multisig: M signatures in the script's pubkey order, then the witness script.
      for (unsigned k = 0; k < addr->m; ++k) {
        auto sig = keystore.sign(addr->keys[k], msg);
        if (!sig) return Status::failure(where + ": " + sig.error());
        out.emplace_back(sig->begin(), sig->end());
      }
      out.push_back(addr->witness_script);
    }
    *args = std::move(out);
  }
  return ok_status();
}

core::Result<BuiltTx> build_transaction(const Keystore& keystore, std::span<const Utxo> available,
                                        const TxRequest& request) {
  using R = core::Result<BuiltTx>;
  init_sodium();
  if (request.outputs.empty()) return R::failure("a transaction needs at least one output");
  if (request.fee_margin_percent > 1000) return R::failure("fee margin above 1000%");
  if (!keystore.unlocked()) return R::failure("the key store is encrypted: a passphrase is needed to sign");

  Plan plan{keystore, request, {}, {}, {}, {}, {}, {}};
  for (const Payment& p : request.outputs) {
    if (p.amount == 0) return R::failure("an output of 0 is not relayed: every amount must be at least 1");
    if (!add_amount(plan.paid[p.asset_id], p.amount)) return R::failure("the amounts of " + asset_name(p.asset_id) + " overflow");
  }
  for (const IssuanceRequest& r : request.issuances) {
    const KeyEntry* key = keystore.find_key(r.key);
    if (key == nullptr) return R::failure("no key " + std::to_string(r.key) + " to issue with");
    if (r.amount == 0) return R::failure("cannot issue 0 units of an asset");
    Issuance is;
    is.request = r;
    if (is.request.nonce.empty()) {
      is.request.nonce.resize(kIssuanceNonceBytes);
      randombytes_buf(is.request.nonce.data(), is.request.nonce.size());
    }
    is.program = chain::p2wpkh_program_for_key(key->public_key);
    is.asset_id = chain::asset_id(1, is.program, is.request.definition);
    if (!add_amount(plan.issued[is.asset_id], r.amount)) return R::failure("issued amounts overflow");
    plan.issuances.push_back(std::move(is));
  }
  if (plan.issued.contains(chain::kBtmAssetId)) return R::failure("BTM cannot be issued");

  std::set<Hash> seen;
  for (const Utxo& u : available) {
    if (keystore.find_program(u.control_program) == nullptr || u.vm_version != 1) continue;
    if (!seen.insert(u.id).second) continue;
    if (!u.mature_at(request.height)) {
      add_amount(plan.immature[u.asset_id], u.amount);
      continue;
    }
    plan.candidates[u.asset_id].push_back(u);
  }
  for (auto& [asset, list] : plan.candidates) {
    std::sort(list.begin(), list.end(), [](const Utxo& a, const Utxo& b) {
      return a.amount != b.amount ? a.amount > b.amount : a.id < b.id;
    });
  }
  if (request.change_program.empty()) {
    auto change = default_change_program(keystore);
    if (!change) return R::failure(change.error());
    plan.change_program = std::move(change).value();
  } else {
    plan.change_program = request.change_program;
  }

  // First guess from the size with the fee at zero and a rough VM cost per input; then let
  // the validator say what the signed transaction really uses, and settle on the lowest fee
  // that covers it.
  std::uint64_t fee = 0;
  {
    auto first = attempt(plan, 0);
    if (!first) return R::failure(first.error());
    if (!first->insufficient.empty()) return R::failure(first->insufficient);
    std::uint64_t gas = first->built.raw.size() + 1'000;  // room for the change output the fee may add
    bool spends_btm = false;
    for (const auto& in : first->built.tx.inputs) {
      if (const auto* sp = std::get_if<chain::SpendInput>(&in.kind)) {
        gas += estimated_input_gas(*keystore.find_program(sp->output.control_program));
        spends_btm = spends_btm || sp->output.asset_id == chain::kBtmAssetId;
      } else {
        gas += 2'000;
      }
    }
    if (!spends_btm) gas += 2'500;  // the fee will need a BTM input
    fee = fee_for_gas(gas, request.fee_margin_percent + 25);
  }

  std::optional<BuiltTx> best;
  std::set<std::uint64_t> tried;
  std::string gas_error;
  unsigned gas_retries = 0;
  for (unsigned iter = 0; iter < kMaxFeeIterations && tried.insert(fee).second; ++iter) {
    auto a = attempt(plan, fee);
    if (!a) return R::failure(a.error());
    if (!a->insufficient.empty()) {
      if (best) break;
      if (!gas_error.empty()) return R::failure("the transaction is invalid: " + gas_error);
      return R::failure(a->insufficient);
    }
    const chain::TxValidation& v = a->built.validation;
    if (!v.gas_valid) {
      // Not enough gas for its storage, or a rule broken before it became gas-valid: more
      // fee fixes the first only, so try a few times and then report the validator.
      gas_error = v.error.empty() ? "not gas-valid" : v.error;
      if (++gas_retries > kMaxGasRetries) return R::failure("the transaction is invalid: " + gas_error);
      fee = std::max(fee * 2, fee_for_gas(v.gas_used + a->built.raw.size(), request.fee_margin_percent));
      continue;
    }
    if (v.status_fail || !v.error.empty()) {
      return R::failure("the transaction would fail validation: " + (v.error.empty() ? "status_fail" : v.error));
    }
    if (v.gas_used > chain::kMaxTxGas) {
      return R::failure("the transaction needs " + std::to_string(v.gas_used) + " gas, more than the " +
                        std::to_string(chain::kMaxTxGas) + " one transaction may use (spend fewer outputs)");
    }
    const std::uint64_t needed = fee_for_gas(v.gas_used, request.fee_margin_percent);
    if (needed <= fee && (!best || fee < best->fee)) best = std::move(a->built);
    if (needed == fee) break;
    fee = needed;
  }
  if (!best) {
    return R::failure(gas_error.empty() ? "could not settle on a fee that covers the transaction's gas"
                                        : "the transaction is invalid: " + gas_error);
  }
  return std::move(best).value();
}

core::Result<Bytes> canonical_asset_definition(std::string_view json_text) {
  using R = core::Result<Bytes>;
  auto doc = detail::parse_json(json_text, 4);
  if (!doc) return R::failure("asset definition: " + doc.error());
  const json& j = *doc;
  if (!j.is_object()) return R::failure("asset definition: expected a JSON object with name, symbol, decimals");
  for (const auto& [key, value] : j.items()) {
    if (key != "name" && key != "symbol" && key != "decimals" && key != "description") {
      return R::failure("asset definition: unknown field \"" + detail::one_line(key) +
                        "\" (allowed: name, symbol, decimals, description)");
    }
  }
  json out = json::object();
  try {
    const std::string name = detail::get_string(j, "name", "");
    if (name.empty() || utf8_length(name) > 64 || has_control(name, false)) {
      return R::failure("asset definition: name must be 1 to 64 printable characters");
    }
    const std::string symbol = detail::get_string(j, "symbol", "");
    const bool symbol_ok = !symbol.empty() && symbol.size() <= 16 && std::all_of(symbol.begin(), symbol.end(), [](char c) {
      return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    });
    if (!symbol_ok) {
      return R::failure("asset definition: symbol must be 1 to 16 characters of A-Z, 0-9, '.', '_', '-' (upper case)");
    }
    const json& dec = detail::member(j, "decimals", "");
    if (!dec.is_number_integer() || dec.get<std::int64_t>() < 0 || dec.get<std::int64_t>() > 18) {
      return R::failure("asset definition: decimals must be an integer from 0 to 18");
    }
    out["name"] = name;
    out["symbol"] = symbol;
    out["decimals"] = dec.get<std::int64_t>();
    if (const json* desc = detail::optional_member(j, "description"); desc != nullptr) {
      if (!desc->is_string()) return R::failure("asset definition: description must be a string");
      const auto& d = desc->get_ref<const std::string&>();
      if (utf8_length(d) > 1024 || has_control(d, true)) {
        return R::failure("asset definition: description must be at most 1024 printable characters");
      }
      out["description"] = d;
    }
  } catch (const detail::FieldError& e) {
    return R::failure(std::string("asset definition: ") + e.what());
  }
  const std::string text = out.dump();  // std::map keys: sorted, compact
  return Bytes(text.begin(), text.end());
}

std::string asset_symbol(std::span<const std::uint8_t> definition) {
  const std::string_view text(reinterpret_cast<const char*>(definition.data()), definition.size());
  auto doc = detail::parse_json(text, 4);
  if (!doc || !doc->is_object()) return {};
  const json* s = detail::optional_member(*doc, "symbol");
  return s != nullptr && s->is_string() ? detail::one_line(s->get<std::string>()) : std::string();
}

}  // namespace tensority::wallet
