#include "tensority/pool/payouts.hpp"

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

std::string btm(std::uint64_t neu) {
  std::string s = std::to_string(neu / 100'000'000) + "." + std::to_string(100'000'000 + neu % 100'000'000).substr(1);
  return s + " BTM";
}

}  // namespace

void crash_point(std::string_view name) {
  static const char* target = std::getenv("TENSORITY_POOL_CRASH_AT");
  if (target != nullptr && name == target) std::raise(SIGKILL);
}

Payer::Payer(StoreWriter& store, wallet::Keystore& keystore, wallet::RpcNodeClient& rpc, node::Network network,
             PayoutOptions options, LogFn log)
    : store_(store), keystore_(keystore), rpc_(rpc), network_(network), options_(std::move(options)), log_(std::move(log)) {}

core::Result<bool> Payer::send(const Payout& payout, std::int64_t now_ms, PayoutReport& report) {
  using R = core::Result<bool>;
  const std::int64_t id = payout.id;
  auto fail = [&](const std::string& why) -> R {
    auto r = wait(store_.call([id, why, now_ms](Store& s) { return s.payout_failed(id, why, now_ms); }), "payout_failed");
    if (!r) return R::failure(r.error());
    ++report.failed;
    log_(true, "payout " + std::to_string(id) + " not made, balances restored: " + why);
    return false;
  };

  wallet::TxRequest request;
  for (const auto& item : payout.items) {
    auto program = node::address_to_program(item.address, network_);
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
  auto signed_ok = wait(store_.call([id, tx_id, raw, fee, now_ms](Store& s) {
                          return s.payout_signed(id, tx_id, raw, fee, now_ms);
                        }),
                        "payout_signed");
  if (!signed_ok) return R::failure(signed_ok.error());
  crash_point("payout-signed");

  Payout signed_payout = payout;
  signed_payout.status = PayoutStatus::signed_tx;
  signed_payout.tx_id = tx_id;
  signed_payout.raw_tx = raw;
  return resend(signed_payout, now_ms, report);
}

core::Result<bool> Payer::resend(const Payout& payout, std::int64_t now_ms, PayoutReport& report) {
  using R = core::Result<bool>;
  const std::int64_t id = payout.id;
  auto tx_id = core::hash_from_hex(payout.tx_id);
  auto raw = core::from_hex(payout.raw_tx);
  if (!tx_id || !raw) return R::failure("payout " + std::to_string(id) + ": stored transaction is not hex");

  auto status = rpc_.get_transaction(*tx_id);
  if (!status && !unknown_to_node(status.error())) return R::failure("payout " + std::to_string(id) + ": " + status.error());
  if (!status) {
    // The node has never seen it (or lost it from its mempool): the same bytes again.
    auto sent = rpc_.submit_transaction(*raw);
    if (!sent) {
      const std::string why = "the node refused transaction " + payout.tx_id + ": " + sent.error();
      auto r = wait(store_.call([id, why, now_ms](Store& s) { return s.payout_failed(id, why, now_ms); }), "payout_failed");
      if (!r) return R::failure(r.error());
      ++report.failed;
      log_(true, "payout " + std::to_string(id) + " failed, balances restored: " + why);
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
    auto r = wait(store_.call([id, h, now_ms](Store& s) { return s.payout_confirmed(id, h, now_ms); }), "payout_confirmed");
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
  for (std::size_t start = 0; start < due.size(); start += options_.max_outputs) {
    const std::size_t end = std::min(due.size(), start + options_.max_outputs);
    std::vector<PayoutItem> items(due.begin() + static_cast<std::ptrdiff_t>(start),
                                  due.begin() + static_cast<std::ptrdiff_t>(end));
    auto id = wait(store_.call([items, now_ms](Store& s) { return s.create_payout(items, now_ms); }), "create_payout");
    if (!id) return R::failure(id.error());
    ++report.created;
    crash_point("payout-created");
    Payout p;
    p.id = *id;
    p.status = PayoutStatus::pending;
    p.items = items;
    for (const auto& i : items) p.total += i.amount;
    auto r = send(p, now_ms, report);
    if (!r) return R::failure(r.error());
  }
  return report;
}

}  // namespace tensority::pool
