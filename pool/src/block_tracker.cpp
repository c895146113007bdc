#include "tensority/pool/block_tracker.hpp"

#include "tensority/core/hex.hpp"

namespace tensority::pool {
namespace {

template <class T>
core::Result<T> wait(std::future<T> f, std::string_view what) {
  try {
    return f.get();
  } catch (const std::exception& e) {
    return core::Result<T>::failure(std::string(what) + ": " + e.what());
  }
}

}  // namespace

core::Result<std::optional<std::string>> RpcChainView::main_hash_at(std::uint64_t height) {
  auto id = client_.main_block_at(height);
  if (!id) return core::Result<std::optional<std::string>>::failure(id.error());
  if (!*id) return std::optional<std::string>{};
  return std::optional<std::string>(core::to_hex(**id));
}

core::Result<std::uint64_t> RpcChainView::block_reward(std::string_view hash) {
  auto id = core::hash_from_hex(hash);
  if (!id) return core::Result<std::uint64_t>::failure("block " + std::string(hash) + ": " + id.error());
  return client_.block_reward(*id);
}

core::Result<TrackerReport> track_blocks(StoreWriter& store, ChainView& chain, const TrackerOptions& options,
                                         std::int64_t now_ms, const TrackerLog& log) {
  using R = core::Result<TrackerReport>;
  TrackerReport report;
  auto tip = chain.tip_height();
  if (!tip) return R::failure(tip.error());

  for (const BlockStatus state : {BlockStatus::submitted, BlockStatus::immature}) {
    auto listed = wait(store.call([state](Store& s) { return s.blocks(state, 10'000); }), "blocks");
    if (!listed) return R::failure(listed.error());
    if (!*listed) return R::failure((*listed).error());
    for (const BlockRecord& b : **listed) {
      auto main = chain.main_hash_at(b.height);
      if (!main) return R::failure(main.error());
      const bool on_main = *main && **main == b.hash;
      const std::string label = "block " + std::to_string(b.height) + " " + b.hash.substr(0, 16);

      if (!on_main) {
        // Above the tip, or not yet connected right after the submit: give it time.
        const bool decided = *main && now_ms - b.found_ms > options.orphan_grace_ms;
        if (state == BlockStatus::immature || decided) {
          const std::string why =
              *main ? "the main chain has " + (**main).substr(0, 16) + " at that height" : "not on the main chain";
          auto moved = wait(store.call([&b, why, now_ms](Store& s) { return s.orphan_block(b.hash, why, now_ms); }),
                            "orphan_block");
          if (moved && *moved && **moved) {
            ++report.orphaned;
            log(true, label + " orphaned: " + why + "; its credits are reversed");
          }
        }
        continue;
      }

      if (state == BlockStatus::submitted) {
        auto reward = chain.block_reward(b.hash);
        if (!reward) return R::failure(reward.error());
        std::vector<Credit> credits;
        const auto scheme = parse_scheme(b.scheme).value_or(options.accounting.scheme);
        const std::uint32_t fee = options.accounting.fee_basis_points;
        if (scheme == Scheme::pplns) {
          const std::uint64_t window = pplns_window(b.network_difficulty, options.accounting.pplns_window_factor);
          auto shares =
              wait(store.call([&b, window](Store& s) { return s.pplns_window(b.share_id, window); }), "pplns_window");
          if (!shares) return R::failure(shares.error());
          if (!*shares) return R::failure((*shares).error());
          credits = pplns_credits(*reward, **shares, fee);
        } else if (scheme == Scheme::solo) {
          credits = solo_credits(*reward, b.finder_address, fee);
        }  // PPS: shares were paid when accepted; the reward stays with the pool.
        auto done = wait(store.call([&b, &credits, reward = *reward, now_ms](Store& s) {
          return s.accept_block(b.hash, reward, credits, "in the main chain", now_ms);
        }),
                         "accept_block");
        if (!done) return R::failure(done.error());
        if (!*done) return R::failure((*done).error());
        if (!**done) continue;
        ++report.accepted;
        std::uint64_t total = 0;
        for (const auto& c : credits) total += c.amount;
        log(false, label + " in the main chain: reward " + std::to_string(*reward) + " neu, " + std::to_string(total) +
                       " credited to " + std::to_string(credits.size()) + " addresses (" +
                       std::string(scheme_name(scheme)) + "), immature for " + std::to_string(options.maturity) +
                       " blocks");
        continue;
      }

      // Immature and still on the main chain: spendable once the next block is `maturity` above it.
      if (*tip + 1 >= b.height + options.maturity) {
        auto moved =
            wait(store.call([&b, now_ms](Store& s) { return s.mature_block(b.hash, now_ms); }), "mature_block");
        if (!moved) return R::failure(moved.error());
        if (!*moved) return R::failure((*moved).error());
        if (**moved) {
          ++report.matured;
          log(false, label + " matured: its credits are now balances");
        }
      }
    }
  }
  return report;
}

}  // namespace tensority::pool
