#pragma once
// Payouts as real transactions: the pool wallet's key store (the tensority::wallet signer)
// builds and signs one transaction per batch of balances, and the node's RPC
// (get-unspent-outputs, submit-transaction, get-transaction) sends and follows it.
//
// No payout is made twice, even across a kill -9, because each step is recorded before the
// next one can have an effect outside the database:
//   1. create_payout debits the balances and records the batch   (pending: nothing sent)
//   2. the signed transaction and its ID are recorded             (signed: maybe sent)
//   3. submit-transaction; then recorded as submitted
//   4. get-transaction sees it in a block; recorded as confirmed
// After a restart a pending batch is built afresh (no transaction existed), a signed or
// submitted one is looked up by ID and, if the node does not know it, the very same bytes
// are sent again, which can only ever confirm once.
#include <chrono>
#include <cstdint>
#include <functional>
#include <set>
#include <string>

#include "tensority/chain/address.hpp"
#include "tensority/pool/options.hpp"
#include "tensority/pool/store_writer.hpp"
#include "tensority/wallet/wallet.hpp"

namespace tensority::pool {

struct PayoutReport {
  unsigned created = 0, submitted = 0, confirmed = 0, failed = 0;
};

class Payer {
 public:
  using LogFn = std::function<void(bool warning, const std::string& line)>;
  Payer(StoreWriter& store, wallet::Keystore& keystore, wallet::RpcNode& rpc, chain::Network network,
        PayoutOptions options, LogFn log);

  // Moves every open payout on as far as it can go (after a crash, or while waiting for a block).
  core::Result<PayoutReport> reconcile(std::int64_t now_ms);
  // Pays every balance at or above the minimum, in batches of at most max_outputs.
  core::Result<PayoutReport> pay(std::int64_t now_ms);

 private:
  // pending -> signed -> submitted, or failed (balances restored) when no transaction can be built.
  core::Result<bool> send(const Payout& payout, std::int64_t now_ms, PayoutReport& report);
  core::Result<bool> resend(const Payout& payout, std::int64_t now_ms, PayoutReport& report);
  // A P2WPKH input costs about 1,500 gas and a transaction may use 30,000: a payout takes at
  // most kMaxPayoutInputs inputs and pays what they cover.
  static constexpr std::uint64_t kGasPerInput = 2'000;
  static constexpr std::uint64_t kGasPerOutput = 500;
  static constexpr std::size_t kMaxPayoutInputs = 16;

  StoreWriter& store_;
  wallet::Keystore& keystore_;
  wallet::RpcNode& rpc_;
  chain::Network network_;
  PayoutOptions options_;
  LogFn log_;
  std::set<std::int64_t> warned_;  // payouts already reported as refused on a resend
  std::string short_of_;           // the last "wallet too short" state logged
};

// For tests of the crash paths: when $TENSORITY_POOL_CRASH_AT names this point, the process
// kills itself with SIGKILL there (a test hook; inert unless the variable is set).
void crash_point(std::string_view name);

}  // namespace tensority::pool
