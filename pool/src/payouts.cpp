#include "tensority/pool/payouts.hpp"

#include <algorithm>
#include <csignal>
#include <cstdlib>

#include "tensority/core/hex.hpp"

namespace tensority::pool {
namespace {

template <class T>
core::Result<T> wait(std::future<core::Result<T>> f, std::string_view what) {
  try {
    auto r = f.get();
    if (!r) return core::Result<T>::failure(std::string(what) + ": " + r.error());
    return r;
  } catch (const std::exception& e) {
    return core::Result<T>::failure(std::string(what) + ": " + e.what());
  }
}

bool unknown_to_node(const std::string& error) { return error.find("neither in the mempool") != std::string::npos; }

// The node answered with its own refusal, as opposed to no answer at all.
bool refused_by_node(const std::string& error) { return noderpc::is_refusal(error); }

std::string btm(std::uint64_t neu) {
  std::string s = std::to_string(neu / 100'000'000) + "." + std::to_string(100'000'000 + neu % 100'000'000).substr(1);
  return s + " BTM";
}

}  // namespace

void crash_point(std::string_view name) {
  static const char* target = std::getenv("TENSORITY_POOL_CRASH_AT");
  if (target != nullptr && name == target) std::raise(SIGKILL);
}

Payer::Payer(StoreWriter& store, wallet::Keystore& keystore, wallet::RpcNode& rpc, chain::Network network,
             PayoutOptions options, LogFn log)
    : store_(store),
      keystore_(keystore),
      rpc_(rpc),
      network_(network),
      options_(std::move(options)),
      log_(std::move(log)) {}

core::Result<bool> Payer::send(const Payout& payout, std::int64_t now_ms, PayoutReport& report) {
  using R = core::Result<bool>;
  const std::int64_t id = payout.id;
  auto fail = [&](const std::string& why) -> R {
    auto r =
        wait(store_.call([id, why, now_ms](Store& s) { return s.payout_failed(id, why, now_ms); }), "payout_failed");
    if (!r) return R::failure(r.error());
    ++report.failed;
    log_(true, "payout " + std::to_string(id) + " not made, balances restored: " + why);
    return false;
  };

  wallet::TxRequest request;
  for (const auto& item : payout.items) {
    auto program = chain::address_to_program(item.address, network_);
    if (!program) return fail("address " + item.address + ": " + program.error());
    wallet::Payment p;
    p.amount = item.amount;
    p.control_program = std::move(*program);
    request.outputs.push_back(std::move(p));
  }
  wallet::Wallet w(keystore_, rpc_);
  auto height = w.next_height();
  if (!height) return R::failure("payout " + std::to_string(id) + ": " + height.error());
  request.height = *height;
  auto utxos = w.utxos();
  if (!utxos) return R::failure("payout " + std::to_string(id) + ": " + utxos.error());
  auto built = wallet::build_transaction(keystore_, *utxos, request);
  if (!built) return fail(built.error());

  const std::string tx_id = core::to_hex(built->entries.tx_id);
  const std::string raw = core::to_hex(built->raw);
  const std::uint64_t fee = built->fee;
  auto signed_ok = wait(
      store_.call([id, tx_id, raw, fee, now_ms](Store& s) { return s.payout_signed(id, tx_id, raw, fee, now_ms); }),
      "payout_signed");
  if (!signed_ok) return R::failure(signed_ok.error());
  crash_point("payout-signed");

  // The first send of a transaction built a moment ago from unspent outputs: a refusal means
  // no copy of it exists anywhere, so the balances can go back. No answer at all leaves it
  // signed: the node may have taken it, and the next pass looks it up before sending again.
  auto sent = rpc_.submit_transaction(*core::from_hex(raw));
  if (!sent) {
    if (!refused_by_node(sent.error())) return R::failure("payout " + std::to_string(id) + ": " + sent.error());
    return fail("the node refused transaction " + tx_id + ": " + sent.error());
  }
  crash_point("payout-submitted");
  auto r = wait(store_.call([id, now_ms](Store& s) { return s.payout_submitted(id, now_ms); }), "payout_submitted");
  if (!r) return R::failure(r.error());
  ++report.submitted;
  log_(false, "payout " + std::to_string(id) + ": transaction " + tx_id + " sent, " + btm(payout.total) + " to " +
                  std::to_string(payout.items.size()) + " addresses");
  return true;
}

core::Result<bool> Payer::resend(const Payout& payout, std::int64_t now_ms, PayoutReport& report) {
  using R = core::Result<bool>;
  const std::int64_t id = payout.id;
  auto tx_id = core::hash_from_hex(payout.tx_id);
  auto raw = core::from_hex(payout.raw_tx);
  if (!tx_id || !raw) return R::failure("payout " + std::to_string(id) + ": stored transaction is not hex");

  auto status = rpc_.client().get_transaction(*tx_id);
  if (!status && !unknown_to_node(status.error())) {
    return R::failure("payout " + std::to_string(id) + ": " + status.error());
  }
  if (!status) {
    // Not in the mempool nor in the last 1000 blocks: the same bytes again, which can only
    // ever confirm once.
    auto sent = rpc_.submit_transaction(*raw);
    if (!sent) {
      // Refused now, but it may have been sent before (a crash, a lost answer) and be deeper
      // than the node looks, or its outputs spent by hand: only the operator can tell, so the
      // balances stay debited and the payout stays open.
      if (refused_by_node(sent.error()) && warned_.insert(id).second) {
        log_(true, "payout " + std::to_string(id) + ": the node refuses transaction " + payout.tx_id + " (" +
                       sent.error() + "); it stays open with the balances debited until it is resolved by hand "
                       "(docs/pool.md, Payouts)");
      }
      return false;
    }
    crash_point("payout-submitted");
  }
  if (payout.status != PayoutStatus::submitted) {
    auto r = wait(store_.call([id, now_ms](Store& s) { return s.payout_submitted(id, now_ms); }), "payout_submitted");
    if (!r) return R::failure(r.error());
    ++report.submitted;
    log_(false, "payout " + std::to_string(id) + ": transaction " + payout.tx_id + " sent, " + btm(payout.total) +
                    " to " + std::to_string(payout.items.size()) + " addresses");
  }
  if (status && status->status == "confirmed" && status->block_height) {
    const std::uint64_t h = *status->block_height;
    auto r =
        wait(store_.call([id, h, now_ms](Store& s) { return s.payout_confirmed(id, h, now_ms); }), "payout_confirmed");
    if (!r) return R::failure(r.error());
    ++report.confirmed;
    log_(false, "payout " + std::to_string(id) + ": transaction " + payout.tx_id + " confirmed at height " +
                    std::to_string(h));
  }
  return true;
}

core::Result<PayoutReport> Payer::reconcile(std::int64_t now_ms) {
  using R = core::Result<PayoutReport>;
  PayoutReport report;
  auto open = wait(store_.call([](Store& s) { return s.open_payouts(); }), "open_payouts");
  if (!open) return R::failure(open.error());
  for (const Payout& p : *open) {
    auto r = p.status == PayoutStatus::pending ? send(p, now_ms, report) : resend(p, now_ms, report);
    if (!r) return R::failure(r.error());
  }
  return report;
}

core::Result<PayoutReport> Payer::pay(std::int64_t now_ms) {
  using R = core::Result<PayoutReport>;
  PayoutReport report;
  auto balances = wait(store_.call([](Store& s) { return s.balances(); }), "balances");
  if (!balances) return R::failure(balances.error());
  std::vector<PayoutItem> due;
  for (const auto& b : *balances) {
    if (b.balance >= options_.minimum) due.push_back(PayoutItem{b.address, b.balance});
  }
  if (due.empty()) return report;

  wallet::Wallet w(keystore_, rpc_);
  auto height = w.next_height();
  if (!height) return R::failure(height.error());
  auto utxos = w.utxos();
  if (!utxos) return R::failure(utxos.error());
  // What this run may spend, largest first: the order the builder takes inputs in.
  std::vector<wallet::Utxo> free;
  for (const auto& u : *utxos) {
    if (u.asset_id == chain::kBtmAssetId && u.mature_at(*height)) free.push_back(u);
  }
  std::sort(free.begin(), free.end(), [](const wallet::Utxo& a, const wallet::Utxo& b) { return a.amount > b.amount; });

  for (std::size_t start = 0; start < due.size(); start += options_.max_outputs) {
    const std::size_t end = std::min(due.size(), start + options_.max_outputs);
    std::vector<PayoutItem> items(due.begin() + static_cast<std::ptrdiff_t>(start),
                                  due.begin() + static_cast<std::ptrdiff_t>(end));
    std::uint64_t total = 0;
    for (const auto& i : items) total += i.amount;
    // The inputs the builder will take for it, with room for the fee.
    std::size_t inputs = 0;
    std::uint64_t covered = 0;
    while (inputs < free.size() &&
           covered < total + wallet::fee_for_gas(kGasPerInput * (inputs + 1) + kGasPerOutput * (items.size() + 1), 10)) {
      covered += free[inputs++].amount;
    }
    const std::uint64_t need = total + wallet::fee_for_gas(kGasPerInput * inputs + kGasPerOutput * (items.size() + 1), 10);
    if (covered < need) {
      // Not even worth a failed payout record: wait for more blocks to mature (PPS pays ahead of them).
      std::uint64_t spendable = 0;
      for (const auto& u : free) spendable += u.amount;
      const std::string state = btm(spendable) + " spendable, " + btm(total) + " due";
      if (state != short_of_) {
        log_(true, "the pool wallet has " + state + ": payouts wait until more of its outputs mature");
        short_of_ = state;
      }
      break;
    }
    short_of_.clear();
    if (inputs > kMaxPayoutInputs) {
      // More inputs than a transaction's gas allows (coinbase outputs arrive one per block):
      // pay what the largest kMaxPayoutInputs outputs cover now, in address order, the last
      // item in part; the rest stays in the balances for the next run.
      inputs = kMaxPayoutInputs;
      std::uint64_t cap = 0;
      for (std::size_t k = 0; k < inputs; ++k) cap += free[k].amount;
      const std::uint64_t fee = wallet::fee_for_gas(kGasPerInput * inputs + kGasPerOutput * (items.size() + 1), 10);
      cap = cap > fee ? cap - fee : 0;
      std::vector<PayoutItem> part;
      std::uint64_t taken = 0;
      for (const auto& i : items) {
        if (taken >= cap) break;
        const std::uint64_t amount = std::min(i.amount, cap - taken);
        if (amount < options_.minimum) break;
        part.push_back(PayoutItem{i.address, amount});
        taken += amount;
      }
      if (part.empty()) break;
      items = std::move(part);
      total = taken;
    }
    free.erase(free.begin(), free.begin() + static_cast<std::ptrdiff_t>(inputs));
    auto id = wait(store_.call([items, now_ms](Store& s) { return s.create_payout(items, now_ms); }), "create_payout");
    if (!id) return R::failure(id.error());
    ++report.created;
    crash_point("payout-created");
    Payout p;
    p.id = *id;
    p.status = PayoutStatus::pending;
    p.items = items;
    p.total = total;
    auto r = send(p, now_ms, report);
    if (!r) return R::failure(r.error());
  }
  return report;
}

}  // namespace tensority::pool
