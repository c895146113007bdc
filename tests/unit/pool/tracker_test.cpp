// Block fates on a real SQLite store, with the chain played by a table the test controls:
// credits held while immature, balances only after maturity, reversal on orphaning, and the
// three schemes' credits.
#include <gtest/gtest.h>

#include <map>

#include "temp_dir.hpp"
#include "tensority/pool/block_tracker.hpp"
#include "tensority/pool/store_writer.hpp"

namespace tensority::pool {
namespace {

// The node's chain as the tracker sees it.
class TableChain : public ChainView {
 public:
  std::uint64_t tip = 0;
  std::map<std::uint64_t, std::string> main;  // height -> hash
  std::map<std::string, std::uint64_t> rewards;

  core::Result<std::uint64_t> tip_height() override { return tip; }
  core::Result<std::optional<std::string>> main_hash_at(std::uint64_t height) override {
    if (height > tip) return std::optional<std::string>{};
    auto it = main.find(height);
    return it == main.end() ? std::optional<std::string>{} : std::optional<std::string>(it->second);
  }
  core::Result<std::uint64_t> block_reward(std::string_view hash) override {
    auto it = rewards.find(std::string(hash));
    if (it == rewards.end()) return core::Result<std::uint64_t>::failure("unknown block");
    return it->second;
  }
};

constexpr std::uint64_t kReward = 41'250'000'000;
constexpr std::int64_t kNow = 1'800'000'000'000;

class Tracker : public ::testing::Test {
 protected:
  Tracker() : dir_("pool-tracker") {
    auto store = Store::open("sqlite:" + (dir_.path / "pool.db").string());
    EXPECT_TRUE(store.ok()) << (store ? "" : store.error());
    writer_ = std::make_unique<StoreWriter>(std::move(store).value());
    options_.maturity = 100;
    options_.accounting.fee_basis_points = 100;
  }

  std::int64_t share(const std::string& address, std::uint64_t difficulty, const std::string& block = "") {
    ShareRecord r;
    r.address = address;
    r.worker = "w";
    r.difficulty = difficulty;
    r.height = 10;
    r.time_ms = kNow;
    r.block_hash = block;
    std::vector<ShareRecord> one{r};
    auto ids = writer_->call([one](Store& s) { return s.add_shares(one, {}); }).get();
    EXPECT_TRUE(ids.ok());
    return ids ? ids->at(0) : 0;
  }

  void found(const std::string& hash, std::uint64_t height, std::int64_t share_id, Scheme scheme,
             const std::string& finder = "alice") {
    BlockRecord b;
    b.hash = hash;
    b.height = height;
    b.finder_address = finder;
    b.finder_worker = "w";
    b.share_id = share_id;
    b.network_difficulty = 20;  // window 2 x 20 = 40 units
    b.scheme = std::string(scheme_name(scheme));
    b.found_ms = kNow;
    b.updated_ms = kNow;
    auto added = writer_->call([b](Store& s) { return s.add_block(b); }).get();
    EXPECT_TRUE(added.ok());
    chain_.rewards[hash] = kReward;
  }

  TrackerReport track(std::int64_t now = kNow) {
    auto r = track_blocks(*writer_, chain_, options_, now, [](bool, const std::string&) {});
    EXPECT_TRUE(r.ok()) << (r ? "" : r.error());
    return r ? *r : TrackerReport{};
  }

  Balance balance(const std::string& address) {
    auto b = writer_->call([address](Store& s) { return s.balance(address); }).get();
    return b && *b ? **b : Balance{};
  }

  BlockStatus status(const std::string& hash) {
    auto b = writer_->call([hash](Store& s) { return s.block(hash); }).get();
    return b && *b ? (*b)->status : BlockStatus::rejected;
  }

  test::TempDir dir_;
  std::unique_ptr<StoreWriter> writer_;
  TableChain chain_;
  TrackerOptions options_;
};

TEST_F(Tracker, PplnsCreditsAreHeldUntilTheCoinbaseMatures) {
  share("alice", 30);
  const std::int64_t last = share("bob", 10, "b1");
  found("b1", 50, last, Scheme::pplns);
  chain_.tip = 50;
  chain_.main[50] = "b1";
  EXPECT_EQ(track().accepted, 1u);
  EXPECT_EQ(status("b1"), BlockStatus::immature);
  const std::uint64_t pot = kReward - kReward / 100;
  EXPECT_EQ(balance("alice").immature, pot * 3 / 4);
  EXPECT_EQ(balance("bob").immature, pot / 4);
  EXPECT_EQ(balance("alice").balance + balance("bob").balance, 0u);

  chain_.tip = 148;  // the next block would be height 149: 99 above, not yet spendable
  EXPECT_EQ(track().matured, 0u);
  chain_.tip = 149;
  EXPECT_EQ(track().matured, 1u);
  EXPECT_EQ(status("b1"), BlockStatus::matured);
  EXPECT_EQ(balance("alice").balance, pot * 3 / 4);
  EXPECT_EQ(balance("alice").immature, 0u);
  EXPECT_EQ(track().matured, 0u);  // once only
  EXPECT_EQ(balance("alice").balance, pot * 3 / 4);
}

TEST_F(Tracker, AnOrphanedBlockLosesItsCredits) {
  const std::int64_t id = share("alice", 16, "b2");
  found("b2", 60, id, Scheme::pplns);
  chain_.tip = 60;
  chain_.main[60] = "b2";
  track();
  EXPECT_GT(balance("alice").immature, 0u);
  chain_.main[60] = "other";  // a reorg replaced it
  chain_.tip = 61;
  EXPECT_EQ(track().orphaned, 1u);
  EXPECT_EQ(status("b2"), BlockStatus::orphaned);
  EXPECT_EQ(balance("alice").immature, 0u);
  EXPECT_EQ(balance("alice").balance, 0u);
  chain_.tip = 300;
  EXPECT_EQ(track().matured, 0u);
}

TEST_F(Tracker, ASubmittedBlockGetsTimeBeforeItCountsAsOrphaned) {
  const std::int64_t id = share("alice", 16, "b3");
  found("b3", 70, id, Scheme::pplns);
  chain_.tip = 70;
  chain_.main[70] = "rival";
  EXPECT_EQ(track(kNow + 1000).orphaned, 0u);
  EXPECT_EQ(status("b3"), BlockStatus::submitted);
  EXPECT_EQ(track(kNow + options_.orphan_grace_ms + 1).orphaned, 1u);
  EXPECT_EQ(status("b3"), BlockStatus::orphaned);
}

TEST_F(Tracker, SoloPaysTheFinderAndPpsCreditsNothingOnTheBlock) {
  share("bob", 50);
  const std::int64_t solo = share("alice", 16, "s1");
  found("s1", 80, solo, Scheme::solo, "alice");
  const std::int64_t pps = share("carol", 16, "p1");
  found("p1", 81, pps, Scheme::pps, "carol");
  chain_.tip = 81;
  chain_.main[80] = "s1";
  chain_.main[81] = "p1";
  EXPECT_EQ(track().accepted, 2u);
  EXPECT_EQ(balance("alice").immature, kReward - kReward / 100);
  EXPECT_EQ(balance("bob").immature, 0u);    // solo: only the finder
  EXPECT_EQ(balance("carol").immature, 0u);  // PPS: paid per share, the block is the pool's
  EXPECT_EQ(status("p1"), BlockStatus::immature);
}

}  // namespace
}  // namespace tensority::pool
