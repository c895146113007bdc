// The pool's Store, every behaviour against both backends: SQLite in a temp directory and a real
// PostgreSQL server started for this binary (tests/support/postgres.hpp). Then what only one
// backend has: SQLite's lock file and its survival of a SIGKILL mid-write, PostgreSQL's
// instances racing on one database.
#include "tensority/pool/store.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <latch>
#include <thread>

#include "postgres.hpp"
#include "temp_dir.hpp"

namespace tensority::pool {

// Beside the type, where the vector comparisons in EXPECT_EQ find them.
bool operator==(const AddressDifficulty& a, const AddressDifficulty& b) {
  return a.address == b.address && a.difficulty == b.difficulty;
}
std::ostream& operator<<(std::ostream& out, const AddressDifficulty& a) {
  return out << a.address << ":" << a.difficulty;
}

namespace {

ShareRecord share(const std::string& address, std::uint64_t difficulty, std::int64_t time_ms = 1000,
                  const std::string& worker = "0") {
  ShareRecord s;
  s.address = address;
  s.worker = worker;
  s.difficulty = difficulty;
  s.height = 17548;
  s.time_ms = time_ms;
  s.instance = 1;
  return s;
}

BlockRecord block_record(const std::string& hash, std::int64_t found_ms = 1000) {
  BlockRecord b;
  b.hash = hash;
  b.height = 17548;
  b.finder_address = "bm1finder";
  b.finder_worker = "rig1";
  b.share_id = 7;
  b.network_difficulty = 123456789;
  b.scheme = "pplns";
  b.found_ms = found_ms;
  b.updated_ms = found_ms;
  b.instance = 3;
  return b;
}

BalanceDelta delta(const std::string& address, std::uint64_t amount) { return BalanceDelta{address, amount}; }
Credit credit(const std::string& address, std::uint64_t amount) { return Credit{address, amount}; }
PayoutItem item(const std::string& address, std::uint64_t amount) { return PayoutItem{address, amount}; }

std::vector<AddressDifficulty> window_of(std::initializer_list<std::pair<const char*, std::uint64_t>> entries) {
  std::vector<AddressDifficulty> out;
  for (const auto& [address, difficulty] : entries) out.push_back(AddressDifficulty{address, difficulty});
  return out;
}

std::unique_ptr<Store> open_or_fail(const std::string& url) {
  auto store = Store::open(url);
  EXPECT_TRUE(store) << store.error();
  return store ? std::move(store).value() : nullptr;
}

// An address's balance, zeros when it has none.
Balance balance_of(Store& store, const std::string& address) {
  auto b = store.balance(address);
  EXPECT_TRUE(b) << b.error();
  if (b && *b) return **b;
  Balance none;
  none.address = address;
  return none;
}

std::vector<std::int64_t> add(Store& store, const std::vector<ShareRecord>& shares,
                              const std::vector<BalanceDelta>& credits = {}) {
  auto ids = store.add_shares(shares, credits);
  EXPECT_TRUE(ids) << ids.error();
  return ids ? *ids : std::vector<std::int64_t>{};
}

void fund(Store& store, const std::string& address, std::uint64_t amount) { add(store, {}, {delta(address, amount)}); }

// A block taken to immature with these credits.
void immature_block(Store& store, const std::string& hash, std::vector<Credit> credits) {
  ASSERT_TRUE(store.add_block(block_record(hash)));
  ASSERT_TRUE(store.set_block_verdict(hash, BlockStatus::immature, 1000, "", 2000));
  auto st = store.set_block_credits(hash, credits, 2000);
  ASSERT_TRUE(st) << st.error();
}

enum class Backend { sqlite, postgresql };

class StoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::postgresql) {
      const auto& pg = test::PostgresServer::shared();
      if (pg.server == nullptr) {
        if (pg.skip) GTEST_SKIP() << pg.why;
        FAIL() << pg.why;
      }
      url_ = pg.server->fresh_database();
    } else {
      url_ = "sqlite:" + (dir_.path / "pool.db").string();
    }
    store_ = open_or_fail(url_);
    ASSERT_NE(store_, nullptr);
  }
  Store& store() { return *store_; }

  test::TempDir dir_{"store"};
  std::string url_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreTest, StartsEmpty) {
  EXPECT_EQ(store().backend(), GetParam() == Backend::sqlite ? "sqlite" : "postgresql");
  EXPECT_EQ(*store().last_share_id(), 0);
  EXPECT_TRUE(store().balances()->empty());
  EXPECT_FALSE(store().balance("bm1nobody")->has_value());
  EXPECT_TRUE(store().blocks(std::nullopt, 10)->empty());
  EXPECT_FALSE(store().block("00ff")->has_value());
  EXPECT_TRUE(store().open_payouts()->empty());
  EXPECT_TRUE(store().payouts(std::nullopt, 10)->empty());
  EXPECT_TRUE(store().pplns_window(1, 100)->empty());
  EXPECT_TRUE(store().totals_since(0)->empty());
}

TEST_P(StoreTest, AddSharesAnswersIncreasingIds) {
  const auto first = add(store(), {share("a", 1), share("b", 2), share("a", 3)});
  ASSERT_EQ(first.size(), 3u);
  EXPECT_LT(first[0], first[1]);
  EXPECT_LT(first[1], first[2]);
  EXPECT_EQ(*store().last_share_id(), first[2]);
  const auto second = add(store(), {share("c", 1), share("c", 1)});
  ASSERT_EQ(second.size(), 2u);
  EXPECT_GT(second[0], first[2]);
  EXPECT_LT(second[0], second[1]);
  EXPECT_TRUE(add(store(), {}).empty());
  EXPECT_EQ(*store().last_share_id(), second[1]);
}

TEST_P(StoreTest, AddSharesAppliesPpsCreditsWholeOrNotAtAll) {
  add(store(), {share("a", 10), share("b", 20)}, {delta("a", 5), delta("b", 7), delta("a", 3)});
  EXPECT_EQ(balance_of(store(), "a").balance, 8u);
  EXPECT_EQ(balance_of(store(), "b").balance, 7u);
  EXPECT_EQ(balance_of(store(), "a").immature, 0u);
  add(store(), {share("a", 10)}, {delta("a", 2)});
  EXPECT_EQ(balance_of(store(), "a").balance, 10u);
  const auto balances = *store().balances();
  ASSERT_EQ(balances.size(), 2u);
  EXPECT_EQ(balances[0].address, "a");
  EXPECT_EQ(balances[1].address, "b");

  // A batch the store refuses leaves neither its shares nor its credits.
  const std::int64_t last = *store().last_share_id();
  std::vector<ShareRecord> bad = {share("a", 1), share("a", std::uint64_t{1} << 63)};
  std::vector<BalanceDelta> credits = {delta("a", 100)};
  EXPECT_FALSE(store().add_shares(bad, credits));
  EXPECT_EQ(*store().last_share_id(), last);
  EXPECT_EQ(balance_of(store(), "a").balance, 10u);
}

TEST_P(StoreTest, PplnsWindowCountsOnlyThePartOfTheCrossingShare) {
  // Oldest first: a 100, b 50, c 30, a 20.
  const auto ids = add(store(), {share("a", 100), share("b", 50), share("c", 30), share("a", 20)});
  ASSERT_EQ(ids.size(), 4u);
  EXPECT_EQ(*store().pplns_window(ids[3], 60), window_of({{"a", 20}, {"b", 10}, {"c", 30}}));
  EXPECT_EQ(*store().pplns_window(ids[3], 50), window_of({{"a", 20}, {"c", 30}}));  // ends exactly on a share
  EXPECT_EQ(*store().pplns_window(ids[3], 101), window_of({{"a", 21}, {"b", 50}, {"c", 30}}));
  // From an older share: the newer ones are not in it.
  EXPECT_EQ(*store().pplns_window(ids[2], 1000), window_of({{"a", 100}, {"b", 50}, {"c", 30}}));
  // Fewer shares than the window: all of them.
  EXPECT_EQ(*store().pplns_window(ids[3], 1000000), window_of({{"a", 120}, {"b", 50}, {"c", 30}}));
  EXPECT_TRUE(store().pplns_window(ids[3], 0)->empty());
}

TEST_P(StoreTest, PplnsWindowWalksBackAcrossManyShares) {
  std::vector<ShareRecord> shares;
  for (int i = 0; i < 2400; ++i) shares.push_back(share(i % 3 == 0 ? "a" : "b", 2));
  const auto ids = add(store(), shares);
  ASSERT_EQ(ids.size(), shares.size());
  // Newest 1500 shares (the walk crosses the store's read batches): 500 of a, 1000 of b.
  EXPECT_EQ(*store().pplns_window(ids.back(), 3000), window_of({{"a", 1000}, {"b", 2000}}));
  EXPECT_EQ(*store().pplns_window(ids.back(), 1000000), window_of({{"a", 1600}, {"b", 3200}}));
}

TEST_P(StoreTest, TotalsSinceSumPerAddressAndWorker) {
  add(store(), {share("b", 7, 50), share("a", 10, 100, "w1"), share("a", 20, 200, "w1"), share("a", 5, 300, "w2")});
  const auto totals = *store().totals_since(100);
  ASSERT_EQ(totals.size(), 2u);
  EXPECT_EQ(totals[0].address, "a");
  EXPECT_EQ(totals[0].worker, "w1");
  EXPECT_EQ(totals[0].difficulty, 30u);
  EXPECT_EQ(totals[0].shares, 2u);
  EXPECT_EQ(totals[0].last_share_ms, 200);
  EXPECT_EQ(totals[1].worker, "w2");
  EXPECT_EQ(totals[1].difficulty, 5u);
  EXPECT_EQ(totals[1].last_share_ms, 300);
  const auto all = *store().totals_since(0);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[2].address, "b");
  EXPECT_EQ(all[2].difficulty, 7u);
  EXPECT_TRUE(store().totals_since(301)->empty());
}

TEST_P(StoreTest, PruneSharesKeepsWhatAWindowMayNeed) {
  const auto ids = add(store(), {share("a", 1, 100), share("a", 2, 200), share("a", 4, 300), share("a", 8, 400)});
  ASSERT_EQ(ids.size(), 4u);
  EXPECT_EQ(*store().prune_shares(350, ids[1]), 1u);  // only the first: the rest is kept or too new
  EXPECT_EQ(*store().pplns_window(ids[3], 1000), window_of({{"a", 14}}));
  EXPECT_EQ(*store().prune_shares(350, ids[3]), 2u);
  EXPECT_EQ(*store().prune_shares(350, ids[3]), 0u);
  EXPECT_EQ(*store().pplns_window(ids[3], 1000), window_of({{"a", 8}}));
  EXPECT_EQ(*store().last_share_id(), ids[3]);
}

TEST_P(StoreTest, BlockVerdictsMoveOnlyFromSubmitted) {
  ASSERT_TRUE(store().add_block(block_record("h1", 1000)));
  EXPECT_FALSE(store().add_block(block_record("h1", 1000))) << "a hash is stored once";
  const auto stored = **store().block("h1");
  EXPECT_EQ(stored.height, 17548u);
  EXPECT_EQ(stored.finder_address, "bm1finder");
  EXPECT_EQ(stored.finder_worker, "rig1");
  EXPECT_EQ(stored.share_id, 7);
  EXPECT_EQ(stored.network_difficulty, 123456789u);
  EXPECT_EQ(stored.scheme, "pplns");
  EXPECT_EQ(stored.instance, 3u);
  EXPECT_EQ(stored.status, BlockStatus::submitted);

  ASSERT_TRUE(store().set_block_verdict("h1", BlockStatus::immature, 41250000000, "accepted", 2000));
  auto h1 = **store().block("h1");
  EXPECT_EQ(h1.status, BlockStatus::immature);
  EXPECT_EQ(h1.reward, 41250000000u);
  EXPECT_EQ(h1.note, "accepted");
  EXPECT_EQ(h1.updated_ms, 2000);
  EXPECT_FALSE(store().set_block_verdict("h1", BlockStatus::immature, 1, "again", 3000));
  EXPECT_FALSE(store().set_block_verdict("h1", BlockStatus::rejected, 0, "late", 3000));
  EXPECT_EQ((**store().block("h1")).reward, 41250000000u);

  ASSERT_TRUE(store().add_block(block_record("h2", 1100)));
  ASSERT_TRUE(store().set_block_verdict("h2", BlockStatus::rejected, 0, "bad-prevblk", 2000));
  EXPECT_EQ((**store().block("h2")).status, BlockStatus::rejected);
  EXPECT_EQ((**store().block("h2")).note, "bad-prevblk");
  EXPECT_FALSE(store().set_block_verdict("h2", BlockStatus::immature, 1, "", 3000));

  ASSERT_TRUE(store().add_block(block_record("h3", 1200)));
  for (const BlockStatus not_a_verdict : {BlockStatus::submitted, BlockStatus::orphaned, BlockStatus::matured}) {
    EXPECT_FALSE(store().set_block_verdict("h3", not_a_verdict, 0, "", 3000));
  }
  EXPECT_FALSE(*store().mature_block("h3", 3000)) << "submitted blocks do not mature";
  EXPECT_FALSE(*store().mature_block("h2", 3000)) << "rejected blocks do not mature";
  EXPECT_FALSE(store().set_block_credits("h2", std::vector<Credit>{credit("a", 1)}, 3000));
  EXPECT_EQ((**store().block("h3")).status, BlockStatus::submitted);
  EXPECT_EQ((**store().block("h2")).status, BlockStatus::rejected);
  const auto unknown = store().set_block_verdict("ffff", BlockStatus::immature, 1, "", 3000);
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().find("no block ffff"), std::string::npos) << unknown.error();
}

TEST_P(StoreTest, BlocksListNewestFirstAndByStatus) {
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(store().add_block(block_record("h" + std::to_string(i), i * 1000)));
  ASSERT_TRUE(store().set_block_verdict("h2", BlockStatus::immature, 5, "", 5000));
  const auto all = *store().blocks(std::nullopt, 10);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].hash, "h3");
  EXPECT_EQ(all[2].hash, "h1");
  EXPECT_EQ(store().blocks(std::nullopt, 2)->size(), 2u);
  const auto immature = *store().blocks(BlockStatus::immature, 10);
  ASSERT_EQ(immature.size(), 1u);
  EXPECT_EQ(immature[0].hash, "h2");
  EXPECT_TRUE(store().blocks(BlockStatus::matured, 10)->empty());
}

TEST_P(StoreTest, CreditsAreHeldUntilMaturityAndMoveOnce) {
  fund(store(), "a", 50);  // PPS balance already there: maturity adds to it
  ASSERT_TRUE(store().add_block(block_record("h1")));
  EXPECT_FALSE(store().set_block_credits("h1", std::vector<Credit>{credit("a", 1)}, 1500)) << "still submitted";
  ASSERT_TRUE(store().set_block_verdict("h1", BlockStatus::immature, 500, "", 2000));
  const std::vector<Credit> credits = {credit("b", 200), credit("a", 300)};
  ASSERT_TRUE(store().set_block_credits("h1", credits, 2000));
  EXPECT_FALSE(store().set_block_credits("h1", credits, 2001)) << "credits are set once";
  const auto stored = *store().block_credits("h1");
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored[0].address, "a");
  EXPECT_EQ(stored[0].amount, 300u);
  EXPECT_EQ(balance_of(store(), "a").immature, 300u);
  EXPECT_EQ(balance_of(store(), "a").balance, 50u);
  EXPECT_EQ(balance_of(store(), "b").immature, 200u);

  EXPECT_TRUE(*store().mature_block("h1", 3000));
  EXPECT_EQ((**store().block("h1")).status, BlockStatus::matured);
  EXPECT_FALSE(*store().mature_block("h1", 3001)) << "a second maturity credits nothing";
  EXPECT_FALSE(*store().orphan_block("h1", "too late", 3002));
  EXPECT_FALSE(store().set_block_credits("h1", credits, 3003));
  for (const auto& [address, expected] : {std::pair{"a", 350u}, std::pair{"b", 200u}}) {
    const Balance b = balance_of(store(), address);
    EXPECT_EQ(b.balance, expected) << address;
    EXPECT_EQ(b.immature, 0u) << address;
  }
  EXPECT_FALSE(store().mature_block("ffff", 1)) << "no such block";
  EXPECT_FALSE(store().orphan_block("ffff", "", 1)) << "no such block";
  EXPECT_FALSE(store().set_block_credits("ffff", credits, 1)) << "no such block";
}

TEST_P(StoreTest, AcceptBlockSetsRewardAndCreditsTogether) {
  ASSERT_TRUE(store().add_block(block_record("h1")));
  const std::vector<Credit> credits = {credit("a", 600), credit("b", 400)};
  EXPECT_TRUE(*store().accept_block("h1", 1000, credits, "in chain", 2000));
  const auto h1 = **store().block("h1");
  EXPECT_EQ(h1.status, BlockStatus::immature);
  EXPECT_EQ(h1.reward, 1000u);
  EXPECT_EQ(h1.note, "in chain");
  EXPECT_EQ(balance_of(store(), "a").immature, 600u);
  EXPECT_FALSE(*store().accept_block("h1", 1000, credits, "again", 2001));
  EXPECT_FALSE(store().set_block_credits("h1", credits, 2002));
  EXPECT_EQ(balance_of(store(), "a").immature, 600u);
  EXPECT_EQ(store().block_credits("h1")->size(), 2u);

  ASSERT_TRUE(store().add_block(block_record("h2")));
  ASSERT_TRUE(store().set_block_verdict("h2", BlockStatus::rejected, 0, "", 2000));
  EXPECT_FALSE(*store().accept_block("h2", 1, credits, "", 2001));
  EXPECT_FALSE(store().accept_block("ffff", 1, credits, "", 2001)) << "no such block";
  const std::vector<Credit> twice = {credit("a", 1), credit("a", 2)};
  ASSERT_TRUE(store().add_block(block_record("h3")));
  EXPECT_FALSE(store().accept_block("h3", 3, twice, "", 2001)) << "an address listed twice";
  EXPECT_EQ((**store().block("h3")).status, BlockStatus::submitted);
}

TEST_P(StoreTest, OrphaningReversesImmatureCredits) {
  fund(store(), "a", 5);
  immature_block(store(), "h1", {credit("a", 100), credit("b", 40)});
  EXPECT_TRUE(*store().orphan_block("h1", "reorg at 17549", 3000));
  const auto h1 = **store().block("h1");
  EXPECT_EQ(h1.status, BlockStatus::orphaned);
  EXPECT_EQ(h1.note, "reorg at 17549");
  EXPECT_EQ(balance_of(store(), "a").immature, 0u);
  EXPECT_EQ(balance_of(store(), "a").balance, 5u);
  EXPECT_EQ(balance_of(store(), "b").immature, 0u);
  EXPECT_FALSE(*store().orphan_block("h1", "again", 3001));
  EXPECT_FALSE(*store().mature_block("h1", 3002));
  EXPECT_EQ(balance_of(store(), "a").immature, 0u);
  EXPECT_EQ(store().block_credits("h1")->size(), 2u) << "the credits stay as the record";

  ASSERT_TRUE(store().add_block(block_record("h2")));
  EXPECT_TRUE(*store().orphan_block("h2", "stale", 3000)) << "a submitted block can be orphaned";
  ASSERT_TRUE(store().add_block(block_record("h3")));
  ASSERT_TRUE(store().set_block_verdict("h3", BlockStatus::rejected, 0, "", 2000));
  EXPECT_FALSE(*store().orphan_block("h3", "", 3000));
  EXPECT_EQ((**store().block("h3")).status, BlockStatus::rejected);
}

TEST_P(StoreTest, CreatePayoutDebitsBalancesAndRecordsItPending) {
  fund(store(), "a", 1000);
  fund(store(), "b", 500);
  auto id = store().create_payout(std::vector<PayoutItem>{item("b", 500), item("a", 600)}, 5000);
  ASSERT_TRUE(id) << id.error();
  EXPECT_EQ(balance_of(store(), "a").balance, 400u);
  EXPECT_EQ(balance_of(store(), "a").paid, 600u);
  EXPECT_EQ(balance_of(store(), "b").balance, 0u);
  EXPECT_EQ(balance_of(store(), "b").paid, 500u);
  const auto open = *store().open_payouts();
  ASSERT_EQ(open.size(), 1u);
  const Payout& p = open[0];
  EXPECT_EQ(p.id, *id);
  EXPECT_EQ(p.status, PayoutStatus::pending);
  EXPECT_EQ(p.total, 1100u);
  EXPECT_EQ(p.created_ms, 5000);
  EXPECT_FALSE(p.confirmed_height.has_value());
  ASSERT_EQ(p.items.size(), 2u);
  EXPECT_EQ(p.items[0].address, "a");
  EXPECT_EQ(p.items[0].amount, 600u);
  EXPECT_EQ(p.items[1].address, "b");
}

TEST_P(StoreTest, CreatePayoutRefusesAndChangesNothing) {
  fund(store(), "a", 1000);
  fund(store(), "b", 500);
  EXPECT_FALSE(store().create_payout(std::vector<PayoutItem>{}, 1));
  EXPECT_FALSE(store().create_payout(std::vector<PayoutItem>{item("a", 0)}, 1));
  EXPECT_FALSE(store().create_payout(std::vector<PayoutItem>{item("a", 1), item("a", 2)}, 1));
  EXPECT_FALSE(store().create_payout(std::vector<PayoutItem>{item("nobody", 1)}, 1));
  // "a" is debited first, then "b" is short: the debit of "a" must go back.
  const auto short_b = store().create_payout(std::vector<PayoutItem>{item("a", 400), item("b", 600)}, 1);
  ASSERT_FALSE(short_b);
  EXPECT_NE(short_b.error().find("b"), std::string::npos) << short_b.error();
  EXPECT_EQ(balance_of(store(), "a").balance, 1000u);
  EXPECT_EQ(balance_of(store(), "a").paid, 0u);
  EXPECT_EQ(balance_of(store(), "b").balance, 500u);
  EXPECT_TRUE(store().open_payouts()->empty());
  EXPECT_TRUE(store().payouts(std::nullopt, 10)->empty());
}

TEST_P(StoreTest, PayoutMovesFollowTheStateMachine) {
  fund(store(), "a", 1000);
  const std::int64_t id = *store().create_payout(std::vector<PayoutItem>{item("a", 100)}, 1);
  EXPECT_FALSE(store().payout_submitted(id, 2)) << "not signed";
  EXPECT_FALSE(store().payout_confirmed(id, 10, 2)) << "not signed";
  ASSERT_TRUE(store().payout_signed(id, "txid01", "rawtx01", 3, 2));
  EXPECT_FALSE(store().payout_signed(id, "txid02", "rawtx02", 4, 3)) << "signed once";
  ASSERT_TRUE(store().payout_submitted(id, 4));
  EXPECT_FALSE(store().payout_submitted(id, 5));
  ASSERT_TRUE(store().payout_confirmed(id, 17600, 6));
  EXPECT_FALSE(store().payout_confirmed(id, 17601, 7));
  EXPECT_FALSE(store().payout_failed(id, "too late", 8));
  const Payout p = store().payouts(std::nullopt, 1)->at(0);
  EXPECT_EQ(p.status, PayoutStatus::confirmed);
  EXPECT_EQ(p.tx_id, "txid01");
  EXPECT_EQ(p.raw_tx, "rawtx01");
  EXPECT_EQ(p.fee, 3u);
  EXPECT_EQ(p.confirmed_height, std::optional<std::uint64_t>(17600));
  EXPECT_EQ(p.updated_ms, 6);
  EXPECT_TRUE(store().open_payouts()->empty());
  EXPECT_EQ(balance_of(store(), "a").paid, 100u);

  // Confirmation may come straight after signing (the submit answer was lost).
  const std::int64_t second = *store().create_payout(std::vector<PayoutItem>{item("a", 100)}, 10);
  ASSERT_TRUE(store().payout_signed(second, "txid03", "rawtx03", 3, 11));
  EXPECT_TRUE(store().payout_confirmed(second, 17700, 12));

  const auto unknown = store().payout_signed(999999, "t", "r", 1, 1);
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().find("no payout 999999"), std::string::npos) << unknown.error();
  EXPECT_FALSE(store().payout_submitted(999999, 1));
  EXPECT_FALSE(store().payout_confirmed(999999, 1, 1));
  EXPECT_FALSE(store().payout_failed(999999, "", 1));
}

TEST_P(StoreTest, FailedPayoutRestoresBalancesOnce) {
  fund(store(), "a", 1000);
  fund(store(), "b", 1000);
  const std::vector<PayoutItem> items = {item("a", 300), item("b", 200)};
  const std::int64_t pending = *store().create_payout(items, 1);
  const std::int64_t signed_tx = *store().create_payout(items, 2);
  const std::int64_t submitted = *store().create_payout(items, 3);
  ASSERT_TRUE(store().payout_signed(signed_tx, "t2", "r2", 1, 4));
  ASSERT_TRUE(store().payout_signed(submitted, "t3", "r3", 1, 4));
  ASSERT_TRUE(store().payout_submitted(submitted, 5));
  EXPECT_FALSE(store().payout_signed(submitted, "t4", "r4", 1, 5)) << "signed once";
  EXPECT_EQ(balance_of(store(), "a").balance, 100u);
  EXPECT_EQ(store().open_payouts()->size(), 3u);

  std::uint64_t expected_a = 100;
  for (const std::int64_t id : {pending, signed_tx, submitted}) {
    ASSERT_TRUE(store().payout_failed(id, "node refused", 6));
    expected_a += 300;
    EXPECT_EQ(balance_of(store(), "a").balance, expected_a);
    EXPECT_FALSE(store().payout_failed(id, "again", 7)) << "restored once";
    EXPECT_FALSE(store().payout_signed(id, "t9", "r9", 1, 7)) << "failed is final";
    EXPECT_FALSE(store().payout_submitted(id, 7));
    EXPECT_FALSE(store().payout_confirmed(id, 1, 7));
    EXPECT_EQ(balance_of(store(), "a").balance, expected_a);
  }
  EXPECT_EQ(balance_of(store(), "a").paid, 0u);
  EXPECT_EQ(balance_of(store(), "b").balance, 1000u);
  EXPECT_TRUE(store().open_payouts()->empty());
  EXPECT_EQ(store().payouts(std::nullopt, 10)->front().note, "node refused");
}

TEST_P(StoreTest, PayoutsListNewestFirstByAddressWithPaidTotals) {
  fund(store(), "a", 1000);
  fund(store(), "b", 1000);
  const std::int64_t p1 = *store().create_payout(std::vector<PayoutItem>{item("a", 10)}, 1);
  const std::int64_t p2 = *store().create_payout(std::vector<PayoutItem>{item("a", 20), item("b", 5)}, 2);
  const std::int64_t p3 = *store().create_payout(std::vector<PayoutItem>{item("b", 7)}, 3);
  ASSERT_TRUE(store().payout_failed(p3, "", 4));
  const auto all = *store().payouts(std::nullopt, 10);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].id, p3);
  EXPECT_EQ(all[2].id, p1);
  const auto for_b = *store().payouts("b", 10);
  ASSERT_EQ(for_b.size(), 2u);
  EXPECT_EQ(for_b[0].id, p3);
  EXPECT_EQ(for_b[1].id, p2);
  EXPECT_EQ(for_b[1].items.size(), 2u) << "every item of a payout that pays b";
  ASSERT_EQ(store().payouts("a", 1)->size(), 1u);
  EXPECT_EQ(store().payouts("a", 1)->front().id, p2);
  EXPECT_TRUE(store().payouts("nobody", 10)->empty());
  EXPECT_EQ(balance_of(store(), "a").paid, 30u);
  EXPECT_EQ(balance_of(store(), "b").paid, 5u) << "a failed payout is not paid";
  EXPECT_EQ(balance_of(store(), "b").balance, 995u);
}

TEST_P(StoreTest, LeasesHaveOneHolderUntilTheyExpire) {
  EXPECT_TRUE(*store().acquire_lease("instance-0", "pool-a", 1000, 0));
  EXPECT_FALSE(*store().acquire_lease("instance-0", "pool-b", 1000, 500));
  EXPECT_TRUE(*store().acquire_lease("instance-0", "pool-a", 1000, 900)) << "renewal, now until 1900";
  EXPECT_FALSE(*store().acquire_lease("instance-0", "pool-b", 1000, 1500));
  EXPECT_TRUE(*store().acquire_lease("instance-1", "pool-b", 1000, 1500)) << "names are independent";
  EXPECT_TRUE(*store().acquire_lease("instance-0", "pool-b", 1000, 1900)) << "expired";
  EXPECT_FALSE(*store().acquire_lease("instance-0", "pool-a", 1000, 2000));
  ASSERT_TRUE(store().release_lease("instance-0", "pool-a")) << "not the holder: no change";
  EXPECT_FALSE(*store().acquire_lease("instance-0", "pool-a", 1000, 2000));
  ASSERT_TRUE(store().release_lease("instance-0", "pool-b"));
  EXPECT_TRUE(*store().acquire_lease("instance-0", "pool-a", 1000, 2000));
  EXPECT_FALSE(store().acquire_lease("", "pool-a", 1000, 0));
  EXPECT_FALSE(store().acquire_lease("x", "pool-a", 0, 0));
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values(Backend::sqlite, Backend::postgresql),
                         [](const ::testing::TestParamInfo<Backend>& backend) {
                           return backend.param == Backend::sqlite ? "Sqlite" : "Postgres";
                         });

TEST(StoreOpen, RefusesMalformedAndUnknownUrlsInOneLine) {
  for (const char* url : {"", "pool.db", ":memory:", "sqlite:", "mysql://root@localhost/pool", "redis:x",
                          "postgresql://tensority@127.0.0.1:1/nothing", "postgresql://[bad"}) {
    const auto store = Store::open(url);
    ASSERT_FALSE(store) << url;
    EXPECT_FALSE(store.error().empty()) << url;
    EXPECT_EQ(store.error().find('\n'), std::string::npos) << url << ": " << store.error();
  }
  EXPECT_NE(Store::open("mysql://x/y").error().find("mysql"), std::string::npos);
}

TEST(StoreNames, RoundTrip) {
  for (const BlockStatus s : {BlockStatus::submitted, BlockStatus::rejected, BlockStatus::immature,
                              BlockStatus::orphaned, BlockStatus::matured}) {
    EXPECT_EQ(parse_block_status(block_status_name(s)), s);
  }
  for (const PayoutStatus s : {PayoutStatus::pending, PayoutStatus::signed_tx, PayoutStatus::submitted,
                               PayoutStatus::confirmed, PayoutStatus::failed}) {
    EXPECT_EQ(parse_payout_status(payout_status_name(s)), s);
  }
  EXPECT_EQ(block_status_name(BlockStatus::immature), "immature");
  EXPECT_EQ(payout_status_name(PayoutStatus::signed_tx), "signed");
  EXPECT_FALSE(parse_block_status("Immature"));
  EXPECT_FALSE(parse_payout_status(""));
}

TEST(SqliteStore, OneProcessAtATimeAndReopeningKeepsEverything) {
  test::TempDir dir("store");
  const std::string path = (dir.path / "nested" / "dirs" / "pool.db").string();  // parents made on open
  {
    auto store = open_or_fail("sqlite:" + path);
    ASSERT_NE(store, nullptr);
    const auto second = Store::open("sqlite:" + path);
    ASSERT_FALSE(second);
    EXPECT_NE(second.error().find(path), std::string::npos) << second.error();
    add(*store, {share("a", 5), share("b", 6)}, {delta("a", 1000)});
    immature_block(*store, "h1", {credit("b", 70)});
    ASSERT_TRUE(store->create_payout(std::vector<PayoutItem>{item("a", 400)}, 1));
    ASSERT_TRUE(*store->acquire_lease("payouts", "pool-a", 60000, 0));
  }
  auto store = open_or_fail("sqlite:" + path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(*store->pplns_window(*store->last_share_id(), 100), window_of({{"a", 5}, {"b", 6}}));
  EXPECT_EQ(balance_of(*store, "a").balance, 600u);
  EXPECT_EQ(balance_of(*store, "a").paid, 400u);
  EXPECT_EQ(balance_of(*store, "b").immature, 70u);
  EXPECT_EQ((**store->block("h1")).status, BlockStatus::immature);
  EXPECT_EQ(store->open_payouts()->size(), 1u);
  EXPECT_FALSE(*store->acquire_lease("payouts", "pool-b", 60000, 1));
}

// A child adds shares in a loop and reports each id once add_shares has answered; it is killed
// mid-run. Every reported id must be there afterwards, with its PPS credit.
TEST(SqliteStore, WhatWasAnsweredSurvivesSigkill) {
  test::TempDir dir("store");
  const std::string url = "sqlite:" + (dir.path / "pool.db").string();
  struct Report {
    std::int64_t id;
    std::int64_t sequence;
  };
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    auto store = Store::open(url);
    if (!store) ::_exit(2);
    for (std::int64_t sequence = 0;; ++sequence) {
      const std::vector<ShareRecord> shares = {share("addr" + std::to_string(sequence), 1, sequence)};
      const std::vector<BalanceDelta> credits = {delta("pps", 1)};
      auto ids = (*store)->add_shares(shares, credits);
      if (!ids || ids->size() != 1) ::_exit(3);
      const Report report{ids->front(), sequence};
      if (::write(fds[1], &report, sizeof(report)) != static_cast<ssize_t>(sizeof(report))) ::_exit(4);
    }
  }
  ::close(fds[1]);
  std::vector<Report> reports;
  Report report{};
  while (reports.size() < 300 && ::read(fds[0], &report, sizeof(report)) == static_cast<ssize_t>(sizeof(report))) {
    reports.push_back(report);
  }
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the child stopped on its own: exit " << WEXITSTATUS(status);
  while (::read(fds[0], &report, sizeof(report)) == static_cast<ssize_t>(sizeof(report))) reports.push_back(report);
  ::close(fds[0]);
  ASSERT_GE(reports.size(), 300u);

  auto store = open_or_fail(url);
  ASSERT_NE(store, nullptr);
  for (const Report& r : reports) {
    // A window of 1 from an id is that very share when it is there, an older one when not.
    EXPECT_EQ(*store->pplns_window(r.id, 1), window_of({{("addr" + std::to_string(r.sequence)).c_str(), 1}}))
        << "share " << r.id << " lost";
  }
  // Shares and their credits commit together: one credit per stored share.
  const auto totals = *store->totals_since(0);
  EXPECT_GE(totals.size(), reports.size());
  EXPECT_EQ(balance_of(*store, "pps").balance, totals.size());
  EXPECT_EQ(add(*store, {share("after", 1)}).size(), 1u) << "the database takes writes again";
}

class PostgresStore : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto& pg = test::PostgresServer::shared();
    if (pg.server == nullptr) {
      if (pg.skip) GTEST_SKIP() << pg.why;
      FAIL() << pg.why;
    }
    const std::string url = pg.server->fresh_database();
    // Both open at once against an empty database: schema creation must not trip over itself.
    std::thread other([&] { second_ = open_or_fail(url); });
    first_ = open_or_fail(url);
    other.join();
    ASSERT_NE(first_, nullptr);
    ASSERT_NE(second_, nullptr);
  }

  // Runs `call` on both stores at once, each from its own thread.
  template <typename Call>
  auto race(Call call) {
    std::latch start(2);
    decltype(call(*first_)) from_second = decltype(call(*first_))::failure("not run");
    std::thread other([&] {
      start.arrive_and_wait();
      from_second = call(*second_);
    });
    start.arrive_and_wait();
    auto from_first = call(*first_);
    other.join();
    return std::pair{std::move(from_first), std::move(from_second)};
  }

  std::unique_ptr<Store> first_;
  std::unique_ptr<Store> second_;
};

TEST_F(PostgresStore, TwoInstancesCannotSpendOneBalanceTwice) {
  constexpr int kRounds = 15;
  for (int round = 0; round < kRounds; ++round) {
    fund(*first_, "a", 100);
    const std::vector<PayoutItem> items = {item("a", 100)};
    auto [one, two] = race([&](Store& s) { return s.create_payout(items, round); });
    EXPECT_NE(one.ok(), two.ok()) << "round " << round << ": " << (one ? "" : one.error()) << " / "
                                  << (two ? "" : two.error());
  }
  const Balance a = balance_of(*second_, "a");
  EXPECT_EQ(a.balance, 0u);
  EXPECT_EQ(a.paid, 100u * kRounds);
  EXPECT_EQ(first_->payouts(std::nullopt, 100)->size(), static_cast<std::size_t>(kRounds));
}

TEST_F(PostgresStore, TwoInstancesMoveABlockAndTakeALeaseOnce) {
  for (int round = 0; round < 10; ++round) {
    const std::string hash = "h" + std::to_string(round);
    immature_block(*first_, hash, {credit("a", 10)});
    auto [one, two] = race([&](Store& s) { return s.mature_block(hash, 5000); });
    ASSERT_TRUE(one) << one.error();
    ASSERT_TRUE(two) << two.error();
    EXPECT_NE(*one, *two) << "round " << round;
    const std::string name = "lease" + std::to_string(round);
    auto [first_holder, second_holder] =
        race([&](Store& s) { return s.acquire_lease(name, &s == first_.get() ? "pool-a" : "pool-b", 1000, 0); });
    ASSERT_TRUE(first_holder) << first_holder.error();
    ASSERT_TRUE(second_holder) << second_holder.error();
    EXPECT_NE(*first_holder, *second_holder) << "round " << round;
  }
  EXPECT_EQ(balance_of(*first_, "a").balance, 100u);
  EXPECT_EQ(balance_of(*first_, "a").immature, 0u);
}

TEST_F(PostgresStore, InstancesShareOneIdSequence) {
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    for (Store* s : {first_.get(), second_.get()}) {
      const auto batch = add(*s, {share("a", 1), share("b", 1)});
      ids.insert(ids.end(), batch.begin(), batch.end());
    }
  }
  ASSERT_EQ(ids.size(), 20u);
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(std::adjacent_find(ids.begin(), ids.end()), ids.end()) << "an id handed out twice";
  EXPECT_EQ(*second_->last_share_id(), ids.back());
  EXPECT_EQ(*first_->pplns_window(ids.back(), 100), window_of({{"a", 10}, {"b", 10}}));
}

}  // namespace
}  // namespace tensority::pool
