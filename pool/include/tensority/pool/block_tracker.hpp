#pragma once
// The fate of every block the pool found, from the node's view of the chain: accepted into
// the main chain (credits computed and held as immature), matured after the coinbase
// maturity (credits become balances), or orphaned (credits reversed). It runs again and
// again and picks up where a killed pool left off: every step is one guarded Store call.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "tensority/core/types.hpp"
#include "tensority/noderpc/client.hpp"
#include "tensority/pool/accounting.hpp"
#include "tensority/pool/store_writer.hpp"

namespace tensority::pool {

// What the tracker asks of the node.
class ChainView {
 public:
  virtual ~ChainView() = default;
  virtual core::Result<std::uint64_t> tip_height() = 0;
  // The main chain's block at `height`; nothing above the tip.
  virtual core::Result<std::optional<std::string>> main_hash_at(std::uint64_t height) = 0;
  // The coinbase amount (subsidy + fees) of a block the node has.
  virtual core::Result<std::uint64_t> block_reward(std::string_view hash) = 0;
};

// ChainView over the shared node client (noderpc::Client), which knows the RPC; this only
// converts hashes to the store's hex.
class RpcChainView : public ChainView {
 public:
  explicit RpcChainView(const noderpc::Client& client) : client_(client) {}
  core::Result<std::uint64_t> tip_height() override { return client_.block_count(); }
  core::Result<std::optional<std::string>> main_hash_at(std::uint64_t height) override;
  core::Result<std::uint64_t> block_reward(std::string_view hash) override;

 private:
  const noderpc::Client& client_;
};

struct TrackerOptions {
  AccountingOptions accounting;
  std::uint64_t maturity = 100;  // blocks until a coinbase may be spent (consensus)
  // A block the node took but that is not on the main chain this long after it was found
  // is orphaned (the node may not have connected it yet right after the submit).
  std::int64_t orphan_grace_ms = 60'000;
};

struct TrackerReport {
  unsigned accepted = 0, orphaned = 0, matured = 0;
};

using TrackerLog = std::function<void(bool warning, const std::string& line)>;

// One pass over the blocks in `submitted` and `immature` state.
core::Result<TrackerReport> track_blocks(StoreWriter& store, ChainView& chain, const TrackerOptions& options,
                                         std::int64_t now_ms, const TrackerLog& log);

}  // namespace tensority::pool
