#pragma once
// Building and signing transactions from a key store and a set of unspent outputs, with no
// node involved: coin selection, change, issuance inputs, ed25519 signatures over
// chain::signature_hash, and a fee found by running chain::validate_transaction on the signed
// transaction until the BTM surplus / 200 covers the gas it really uses (plus a margin).
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tensority/chain/entries.hpp"
#include "tensority/chain/transaction.hpp"
#include "tensority/chain/validation.hpp"
#include "tensority/wallet/keystore.hpp"

namespace tensority::wallet {

// One output as get-unspent-outputs reports it.
struct Utxo {
  Hash id{};  // the output entry ID (chain::spent_output_id of commitment())
  Hash source_id{};
  std::uint64_t source_pos = 0;
  Hash asset_id{};
  std::uint64_t amount = 0;
  std::uint64_t vm_version = 1;
  Bytes control_program;
  std::string address;
  std::uint64_t block_height = 0;
  bool is_coinbase = false;
  std::uint64_t valid_height = 0;  // first height a spend may be mined at

  chain::SpendCommitment commitment() const;
  bool mature_at(std::uint64_t height) const { return valid_height <= height; }
};

struct Payment {
  Hash asset_id = chain::kBtmAssetId;
  std::uint64_t amount = 0;
  Bytes control_program;  // a recipient's program, or chain::retirement_program(...) to retire
};

struct IssuanceRequest {
  Bytes definition;        // raw definition bytes (see canonical_asset_definition)
  std::uint32_t key = 0;   // wallet key whose P2WPKH program is the issuance program
  std::uint64_t amount = 0;
  Bytes nonce;             // empty: 8 random bytes
};

struct TxRequest {
  std::vector<Payment> outputs;
  std::vector<IssuanceRequest> issuances;  // issued value pays `outputs` before any UTXO does
  Bytes change_program;                    // empty: the wallet's default change program
  std::uint64_t height = 1;                // height of the block it is meant for (tip + 1)
  unsigned fee_margin_percent = 10;        // fee covers gas_used * (100 + margin) / 100
};

struct BuiltTx {
  chain::Transaction tx;  // signed; serialized_size set
  chain::TxEntries entries;
  chain::TxValidation validation;  // validate_transaction at request.height: valid
  Bytes raw;                      // the wire bytes, for submit-transaction
  std::uint64_t fee = 0;          // BTM surplus
  std::uint64_t gas_used = 0;
  std::vector<Utxo> spent;        // inputs, in input order after the issuances
  std::vector<Hash> issued;       // asset ID per issuance input
};

// The program of the output that receives change: the lowest-index P2WPKH address, else the
// first address. Fails for a store with no address.
core::Result<Bytes> default_change_program(const Keystore& keystore);

// Selects from `available` (only outputs of this store's addresses that are mature at
// request.height are used), builds, signs and prices the transaction, and refuses one that
// validate_transaction does not pass as fully valid.
core::Result<BuiltTx> build_transaction(const Keystore& keystore, std::span<const Utxo> available,
                                        const TxRequest& request);

// Signs every input of tx whose program belongs to the store (spends of P2WPKH and P2WSH
// outputs, issuances with a P2WPKH program of a wallet key), replacing its arguments.
// Fails when an input cannot be signed.
Status sign_transaction(const Keystore& keystore, chain::Transaction& tx);

// fee (neu) that buys gas_used * (100 + margin) / 100 gas, rounded up.
std::uint64_t fee_for_gas(std::uint64_t gas_used, unsigned margin_percent);

// Asset definitions: a JSON object with "name" (1-64 characters), "symbol" (1-16 of A-Z,
// 0-9, '.', '_', '-'), "decimals" (0-18) and an optional "description" (at most 1024
// characters); nothing else. Answers the canonical bytes committed on chain: compact JSON
// with sorted keys.
core::Result<Bytes> canonical_asset_definition(std::string_view json_text);
// Reads "symbol" back from a definition the wallet wrote; empty when there is none.
std::string asset_symbol(std::span<const std::uint8_t> definition);

}  // namespace tensority::wallet
