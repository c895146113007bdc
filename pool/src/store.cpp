// The pool's Store over the SQL layer. Each call is one transaction. State moves are guarded in
// the UPDATE itself (`WHERE status = ...`, then the affected-row count decides), so a call
// repeated after a crash, or raced by another pool instance on PostgreSQL, changes nothing the
// second time: a block's credits move once and a payout's balance comes back once.
#include "tensority/pool/store.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <map>
#include <tuple>

#include "sql.hpp"

namespace tensority::pool {
namespace {

using sql::Connection;
using sql::Row;
using sql::Transaction;
using sql::TxMode;
using sql::Value;
using Params = std::initializer_list<Value>;

constexpr std::int64_t kSchemaVersion = 1;
// Shares read per round trip while walking a PPLNS window back.
constexpr std::int64_t kPplnsBatch = 1000;
// Every amount, difficulty and height is stored as a signed 64-bit integer.
constexpr std::uint64_t kMaxStored = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
// Serializes schema creation when several instances start against one PostgreSQL database.
constexpr std::int64_t kSchemaLockKey = 0x74656e736f726974;  // "tensorit"

constexpr std::array<std::string_view, 5> kBlockStatusNames = {"submitted", "rejected", "immature", "orphaned",
                                                               "matured"};
constexpr std::array<std::string_view, 5> kPayoutStatusNames = {"pending", "signed", "submitted", "confirmed",
                                                                "failed"};

// blocks.credited is set once credits are stored. It is a flag on the block row, not a look at
// block_credits, so that PostgreSQL's re-check of a WHERE after waiting on a row lock sees it.
// balances.paid is not stored: it is summed from payout items so it cannot drift from them.
constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS shares (id @ID@, address TEXT NOT NULL, worker TEXT NOT NULL,
  difficulty BIGINT NOT NULL, height BIGINT NOT NULL, time_ms BIGINT NOT NULL, instance BIGINT NOT NULL,
  block_hash TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS shares_by_time ON shares (time_ms);
CREATE TABLE IF NOT EXISTS blocks (hash TEXT PRIMARY KEY, height BIGINT NOT NULL, finder_address TEXT NOT NULL,
  finder_worker TEXT NOT NULL, share_id BIGINT NOT NULL, network_difficulty BIGINT NOT NULL,
  reward BIGINT NOT NULL, scheme TEXT NOT NULL, found_ms BIGINT NOT NULL, updated_ms BIGINT NOT NULL,
  status TEXT NOT NULL CHECK (status IN (@BLOCK_STATUSES@)), note TEXT NOT NULL, instance BIGINT NOT NULL,
  credited INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS blocks_by_found ON blocks (found_ms);
CREATE TABLE IF NOT EXISTS block_credits (block_hash TEXT NOT NULL REFERENCES blocks (hash),
  address TEXT NOT NULL, amount BIGINT NOT NULL CHECK (amount >= 0), PRIMARY KEY (block_hash, address));
CREATE TABLE IF NOT EXISTS balances (address TEXT PRIMARY KEY, balance BIGINT NOT NULL CHECK (balance >= 0),
  immature BIGINT NOT NULL CHECK (immature >= 0));
CREATE TABLE IF NOT EXISTS payouts (id @ID@, status TEXT NOT NULL CHECK (status IN (@PAYOUT_STATUSES@)),
  tx_id TEXT NOT NULL, raw_tx TEXT NOT NULL, fee BIGINT NOT NULL, total BIGINT NOT NULL,
  created_ms BIGINT NOT NULL, updated_ms BIGINT NOT NULL, confirmed_height BIGINT, note TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS payouts_by_status ON payouts (status);
CREATE TABLE IF NOT EXISTS payout_items (payout_id BIGINT NOT NULL REFERENCES payouts (id),
  address TEXT NOT NULL, amount BIGINT NOT NULL CHECK (amount > 0), PRIMARY KEY (payout_id, address));
CREATE INDEX IF NOT EXISTS payout_items_by_address ON payout_items (address);
CREATE TABLE IF NOT EXISTS leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_ms BIGINT NOT NULL);
)sql";

constexpr std::string_view kBlockColumns =
    "hash, height, finder_address, finder_worker, share_id, network_difficulty, reward, scheme, found_ms, "
    "updated_ms, status, note, instance";
constexpr std::string_view kPayoutColumns =
    "id, status, tx_id, raw_tx, fee, total, created_ms, updated_ms, confirmed_height, note";
constexpr std::string_view kBlockCreditsSelect = "SELECT address, amount FROM block_credits WHERE block_hash = ?";
constexpr std::string_view kPayoutItemsSelect = "SELECT address, amount FROM payout_items WHERE payout_id = ?";
constexpr std::string_view kBalanceSelect =
    "SELECT b.address, b.balance, b.immature, (SELECT SUM(i.amount) FROM payout_items i JOIN payouts p "
    "ON p.id = i.payout_id WHERE i.address = b.address AND p.status <> ?) FROM balances b";

void replace_all(std::string& text, std::string_view from, std::string_view to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

template <std::size_t N>
std::string quoted_list(const std::array<std::string_view, N>& names) {
  std::string out;
  for (const std::string_view n : names) out += (out.empty() ? "'" : ", '") + std::string(n) + "'";
  return out;
}

// The only text that differs between the dialects is how an id column counts.
std::string schema_sql(sql::Dialect dialect) {
  std::string schema(kSchema);
  replace_all(schema, "@ID@",
              dialect == sql::Dialect::sqlite ? "INTEGER PRIMARY KEY AUTOINCREMENT" : "BIGSERIAL PRIMARY KEY");
  replace_all(schema, "@BLOCK_STATUSES@", quoted_list(kBlockStatusNames));
  replace_all(schema, "@PAYOUT_STATUSES@", quoted_list(kPayoutStatusNames));
  return schema;
}

template <typename Enum, std::size_t N>
std::optional<Enum> parse_name(const std::array<std::string_view, N>& names, std::string_view name) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<Enum>(i);
  }
  return std::nullopt;
}

Value text(std::string_view v) { return sql::text(v); }
Value integer(std::int64_t v) { return sql::integer(v); }
bool fits(std::uint64_t v) { return v <= kMaxStored; }
// Callers check fits() first: amounts stay below 2^63 by contract.
Value amount(std::uint64_t v) { return sql::integer(static_cast<std::int64_t>(v)); }
Value limit_of(std::size_t limit) {
  return integer(static_cast<std::int64_t>(std::min<std::uint64_t>(limit, kMaxStored)));
}
Value name_of(BlockStatus s) { return text(block_status_name(s)); }
Value name_of(PayoutStatus s) { return text(payout_status_name(s)); }
std::uint64_t unsigned_at(const Row& row, std::size_t column) {
  return static_cast<std::uint64_t>(std::max<std::int64_t>(row.integer(column), 0));
}

// Sorted by address, so text collation never decides the order and concurrent writers lock
// balance rows in one order (no deadlock between two PostgreSQL instances).
template <typename T>
void sort_by_address(std::vector<T>& list) {
  std::sort(list.begin(), list.end(), [](const T& a, const T& b) { return a.address < b.address; });
}

// Credits or payout items, sorted, each address once, every amount storable.
template <typename T>
core::Result<std::vector<T>> checked_amounts(std::span<const T> entries, std::string_view what) {
  using R = core::Result<std::vector<T>>;
  std::vector<T> sorted(entries.begin(), entries.end());
  sort_by_address(sorted);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    if (!fits(sorted[i].amount) || total > kMaxStored - sorted[i].amount) {
      return R::failure(std::string(what) + " total is over 2^63");
    }
    if (i > 0 && sorted[i].address == sorted[i - 1].address) {
      return R::failure(std::string(what) + " lists " + sorted[i].address + " twice");
    }
    total += sorted[i].amount;
  }
  return sorted;
}

template <typename Map>
auto map_rows(const std::vector<Row>& rows, Map map) {
  std::vector<decltype(map(rows.front()))> out;
  out.reserve(rows.size());
  for (const Row& row : rows) out.push_back(map(row));
  return out;
}

WorkerTotal total_from_row(const Row& row) {
  WorkerTotal t;
  t.address = row.text(0);
  t.worker = row.text(1);
  t.difficulty = unsigned_at(row, 2);
  t.shares = unsigned_at(row, 3);
  t.last_share_ms = row.integer(4);
  return t;
}

BlockRecord block_from_row(const Row& row) {
  BlockRecord b;
  b.hash = row.text(0);
  b.height = unsigned_at(row, 1);
  b.finder_address = row.text(2);
  b.finder_worker = row.text(3);
  b.share_id = row.integer(4);
  b.network_difficulty = unsigned_at(row, 5);
  b.reward = unsigned_at(row, 6);
  b.scheme = row.text(7);
  b.found_ms = row.integer(8);
  b.updated_ms = row.integer(9);
  b.status = parse_block_status(row.text(10)).value_or(BlockStatus::submitted);  // the CHECK keeps it known
  b.note = row.text(11);
  b.instance = static_cast<std::uint32_t>(row.integer(12));
  return b;
}

Payout payout_from_row(const Row& row) {
  Payout p;
  p.id = row.integer(0);
  p.status = parse_payout_status(row.text(1)).value_or(PayoutStatus::pending);  // the CHECK keeps it known
  p.tx_id = row.text(2);
  p.raw_tx = row.text(3);
  p.fee = unsigned_at(row, 4);
  p.total = unsigned_at(row, 5);
  p.created_ms = row.integer(6);
  p.updated_ms = row.integer(7);
  if (!row.is_null(8)) p.confirmed_height = unsigned_at(row, 8);
  p.note = row.text(9);
  return p;
}

Balance balance_from_row(const Row& row) {
  Balance b;
  b.address = row.text(0);
  b.balance = unsigned_at(row, 1);
  b.immature = unsigned_at(row, 2);
  b.paid = unsigned_at(row, 3);
  return b;
}

class SqlStore final : public Store {
 public:
  explicit SqlStore(std::unique_ptr<Connection> db) : db_(std::move(db)) {}

  std::string_view backend() const override { return db_->dialect() == sql::Dialect::sqlite ? "sqlite" : "postgresql"; }

  StoreStatus create_schema() {
    auto tx = Transaction::begin(*db_, TxMode::write);
    if (!tx) return StoreStatus::failure(tx.error());
    if (db_->dialect() == sql::Dialect::postgresql) {
      if (auto r = db_->query("SELECT pg_advisory_xact_lock(?)", {integer(kSchemaLockKey)}); !r) {
        return StoreStatus::failure(r.error());
      }
    }
    if (auto st = db_->exec(schema_sql(db_->dialect())); !st) return st;
    const std::string version = std::to_string(kSchemaVersion);
    if (auto r = db_->query("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                            {text("schema_version"), text(version)});
        !r) {
      return StoreStatus::failure(r.error());
    }
    auto found = db_->query("SELECT value FROM meta WHERE key = ?", {text("schema_version")});
    if (!found) return StoreStatus::failure(found.error());
    const std::string have = found->rows.empty() ? std::string() : found->rows.front().text(0);
    if (have != version) {
      return StoreStatus::failure("the database has schema version " + have + ", this build knows version " + version);
    }
    return tx.value().commit();
  }

  // ---- shares ----

  core::Result<std::vector<std::int64_t>> add_shares(std::span<const ShareRecord> shares,
                                                     std::span<const BalanceDelta> credits) override {
    using R = core::Result<std::vector<std::int64_t>>;
    for (const ShareRecord& s : shares) {
      if (!fits(s.difficulty) || !fits(s.height)) return R::failure("a share's difficulty or height is over 2^63");
    }
    // Merged per address (in address order, see sort_by_address).
    std::map<std::string, std::uint64_t, std::less<>> merged;
    for (const BalanceDelta& c : credits) {
      std::uint64_t& sum = merged[c.address];
      if (!fits(c.amount) || sum > kMaxStored - c.amount) {
        return R::failure("PPS credit to " + c.address + " is over 2^63");
      }
      sum += c.amount;
    }
    auto tx = Transaction::begin(*db_, TxMode::write);
    if (!tx) return R::failure(tx.error());
    std::vector<std::int64_t> ids;
    ids.reserve(shares.size());
    for (const ShareRecord& s : shares) {
      auto r = db_->query(
          "INSERT INTO shares (address, worker, difficulty, height, time_ms, instance, block_hash) "
          "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
          {text(s.address), text(s.worker), amount(s.difficulty), amount(s.height), integer(s.time_ms),
           integer(s.instance), text(s.block_hash)});
      if (!r) return R::failure(r.error());
      if (r->rows.empty()) return R::failure("the share insert answered no id");
      ids.push_back(r->rows.front().integer(0));
    }
    for (const auto& [address, sum] : merged) {
      if (auto st = add_to_balance(address, sum, 0); !st) return R::failure(st.error());
    }
    if (auto st = tx.value().commit(); !st) return R::failure(st.error());
    return ids;
  }

  core::Result<std::vector<AddressDifficulty>> pplns_window(std::int64_t last_share_id, std::uint64_t window) override {
    using R = core::Result<std::vector<AddressDifficulty>>;
    if (window == 0 || last_share_id <= 0) return std::vector<AddressDifficulty>{};
    // Batches, not one query: the window usually covers a small tail of a long table.
    auto tx = Transaction::begin(*db_, TxMode::read);
    if (!tx) return R::failure(tx.error());
    std::map<std::string, std::uint64_t> per_address;
    std::uint64_t remaining = window;
    std::int64_t from_id = last_share_id;
    while (remaining > 0) {
      auto r = db_->query("SELECT id, address, difficulty FROM shares WHERE id <= ? ORDER BY id DESC LIMIT ?",
                          {integer(from_id), integer(kPplnsBatch)});
      if (!r) return R::failure(r.error());
      for (const Row& row : r->rows) {
        // The share that crosses the window counts only for the part inside it.
        const std::uint64_t taken = std::min(unsigned_at(row, 2), remaining);
        if (taken > 0) per_address[row.text(1)] += taken;
        remaining -= taken;
        if (remaining == 0) break;
      }
      if (r->rows.size() < static_cast<std::size_t>(kPplnsBatch)) break;
      from_id = r->rows.back().integer(0) - 1;
    }
    if (auto st = tx.value().commit(); !st) return R::failure(st.error());
    std::vector<AddressDifficulty> out;
    out.reserve(per_address.size());
    for (const auto& [address, difficulty] : per_address) out.push_back(AddressDifficulty{address, difficulty});
    return out;
  }

  core::Result<std::vector<WorkerTotal>> totals_since(std::int64_t since_ms) override {
    using R = core::Result<std::vector<WorkerTotal>>;
    auto r =
        sql::read_one(*db_,
                      "SELECT address, worker, SUM(difficulty), COUNT(*), MAX(time_ms) FROM shares WHERE time_ms >= ? "
                      "GROUP BY address, worker",
                      {integer(since_ms)});
    if (!r) return R::failure(r.error());
    auto out = map_rows(*r, total_from_row);
    std::sort(out.begin(), out.end(), [](const WorkerTotal& a, const WorkerTotal& b) {
      return std::tie(a.address, a.worker) < std::tie(b.address, b.worker);
    });
    return out;
  }

  core::Result<std::uint64_t> prune_shares(std::int64_t before_ms, std::int64_t keep_from_id) override {
    using R = core::Result<std::uint64_t>;
    auto r = sql::write_one(*db_, "DELETE FROM shares WHERE time_ms < ? AND id < ?",
                            {integer(before_ms), integer(keep_from_id)});
    if (!r) return R::failure(r.error());
    return r->affected;
  }

  core::Result<std::int64_t> last_share_id() override {
    using R = core::Result<std::int64_t>;
    auto r = sql::read_one(*db_, "SELECT MAX(id) FROM shares", {});
    if (!r) return R::failure(r.error());
    return r->empty() ? 0 : r->front().integer(0);
  }

  // ---- blocks ----

  StoreStatus add_block(const BlockRecord& b) override {
    if (b.hash.empty()) return StoreStatus::failure("a block needs a hash");
    if (!fits(b.height) || !fits(b.network_difficulty) || !fits(b.reward)) {
      return StoreStatus::failure("block " + b.hash + ": height, difficulty or reward is over 2^63");
    }
    auto r = sql::write_one(
        *db_,
        "INSERT INTO blocks (" + std::string(kBlockColumns) +
            ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING",
        {text(b.hash), amount(b.height), text(b.finder_address), text(b.finder_worker), integer(b.share_id),
         amount(b.network_difficulty), amount(b.reward), text(b.scheme), integer(b.found_ms), integer(b.updated_ms),
         name_of(b.status), text(b.note), integer(b.instance)});
    if (!r) return StoreStatus::failure(r.error());
    if (r->affected == 0) return StoreStatus::failure("block " + b.hash + " is already stored");
    return std::monostate{};
  }

  StoreStatus set_block_verdict(std::string_view hash, BlockStatus status, std::uint64_t reward, std::string_view note,
                                std::int64_t now_ms) override {
    if (status != BlockStatus::rejected && status != BlockStatus::immature) {
      return StoreStatus::failure("a block verdict is rejected or immature, not " +
                                  std::string(block_status_name(status)));
    }
    if (!fits(reward)) return StoreStatus::failure("block reward is over 2^63");
    auto r = sql::write_one(
        *db_, "UPDATE blocks SET status = ?, reward = ?, note = ?, updated_ms = ? WHERE hash = ? AND status = ?",
        {name_of(status), amount(reward), text(note), integer(now_ms), text(hash), name_of(BlockStatus::submitted)});
    if (!r) return StoreStatus::failure(r.error());
    if (r->affected == 0) return StoreStatus::failure(block_refusal(hash, "a verdict needs a submitted block"));
    return std::monostate{};
  }

  StoreStatus set_block_credits(std::string_view hash, std::span<const Credit> credits, std::int64_t now_ms) override {
    auto sorted = checked_amounts(credits, "block credit");
    if (!sorted) return StoreStatus::failure(sorted.error());
    auto tx = Transaction::begin(*db_, TxMode::write);
    if (!tx) return StoreStatus::failure(tx.error());
    auto r = db_->query("UPDATE blocks SET credited = 1, updated_ms = ? WHERE hash = ? AND status = ? AND credited = 0",
                        {integer(now_ms), text(hash), name_of(BlockStatus::immature)});
    if (!r) return StoreStatus::failure(r.error());
    if (r->affected == 0) {
      auto status = block_status(hash);
      if (status.ok() && *status == BlockStatus::immature) {
        return StoreStatus::failure("block " + std::string(hash) + " has its credits already");
      }
      return StoreStatus::failure(block_refusal(hash, "credits need an immature block"));
    }
    if (auto st = insert_credits(hash, *sorted); !st) return st;
    return tx.value().commit();
  }

  core::Result<bool> accept_block(std::string_view hash, std::uint64_t reward, std::span<const Credit> credits,
                                  std::string_view note, std::int64_t now_ms) override {
    using R = core::Result<bool>;
    if (!fits(reward)) return R::failure("block reward is over 2^63");
    auto sorted = checked_amounts(credits, "block credit");
    if (!sorted) return R::failure(sorted.error());
    auto tx = Transaction::begin(*db_, TxMode::write);
    if (!tx) return R::failure(tx.error());
    auto r = db_->query(
        "UPDATE blocks SET status = ?, reward = ?, note = ?, updated_ms = ?, credited = 1 "
        "WHERE hash = ? AND status = ? AND credited = 0",
        {name_of(BlockStatus::immature), amount(reward), text(note), integer(now_ms), text(hash),
         name_of(BlockStatus::submitted)});
    if (!r) return R::failure(r.error());
    if (r->affected == 0) return not_moved(hash);
    if (auto st = insert_credits(hash, *sorted); !st) return R::failure(st.error());
    if (auto st = tx.value().commit(); !st) return R::failure(st.error());
    return true;
  }

  core::Result<bool> mature_block(std::string_view hash, std::int64_t now_ms) override {
    return move_block(hash, BlockStatus::matured, {BlockStatus::immature}, std::nullopt, now_ms);
  }

  core::Result<bool> orphan_block(std::string_view hash, std::string_view note, std::int64_t now_ms) override {
    // Only an immature block can have credits here (a submitted one has none yet); the credit
    // rows stay, as the record of what was reversed.
    return move_block(hash, BlockStatus::orphaned, {BlockStatus::submitted, BlockStatus::immature}, note, now_ms);
  }

  core::Result<std::optional<BlockRecord>> block(std::string_view hash) override {
    using R = core::Result<std::optional<BlockRecord>>;
    auto r = sql::read_one(*db_, "SELECT " + std::string(kBlockColumns) + " FROM blocks WHERE hash = ?", {text(hash)});
    if (!r) return R::failure(r.error());
    if (r->empty()) return std::optional<BlockRecord>{};
    return std::optional<BlockRecord>(block_from_row(r->front()));
  }

  core::Result<std::vector<BlockRecord>> blocks(std::optional<BlockStatus> status, std::size_t limit) override {
    using R = core::Result<std::vector<BlockRecord>>;
    const std::string select = "SELECT " + std::string(kBlockColumns) + " FROM blocks ";
    const std::string order = "ORDER BY found_ms DESC, height DESC, hash LIMIT ?";
    auto r = status ? sql::read_one(*db_, select + "WHERE status = ? " + order, {name_of(*status), limit_of(limit)})
                    : sql::read_one(*db_, select + order, {limit_of(limit)});
    if (!r) return R::failure(r.error());
    return map_rows(*r, block_from_row);
  }

  core::Result<std::vector<Credit>> block_credits(std::string_view hash) override {
    using R = core::Result<std::vector<Credit>>;
    auto tx = Transaction::begin(*db_, TxMode::read);
    if (!tx) return R::failure(tx.error());
    auto credits = amounts<Credit>(kBlockCreditsSelect, text(hash));
    if (credits.ok()) (void)tx.value().commit();
    return credits;
  }

  // ---- balances ----

  core::Result<std::vector<Balance>> balances() override {
    using R = core::Result<std::vector<Balance>>;
    auto r = sql::read_one(*db_, std::string(kBalanceSelect), {name_of(PayoutStatus::failed)});
    if (!r) return R::failure(r.error());
    auto out = map_rows(*r, balance_from_row);
    sort_by_address(out);
    return out;
  }

  core::Result<std::optional<Balance>> balance(std::string_view address) override {
    using R = core::Result<std::optional<Balance>>;
    auto r = sql::read_one(*db_, std::string(kBalanceSelect) + " WHERE b.address = ?",
                           {name_of(PayoutStatus::failed), text(address)});
    if (!r) return R::failure(r.error());
    if (r->empty()) return std::optional<Balance>{};
    return std::optional<Balance>(balance_from_row(r->front()));
  }

  // ---- payouts ----

  core::Result<std::int64_t> create_payout(std::span<const PayoutItem> items, std::int64_t now_ms) override {
    using R = core::Result<std::int64_t>;
    if (items.empty()) return R::failure("a payout needs at least one item");
    auto sorted = checked_amounts(items, "payout");
    if (!sorted) return R::failure(sorted.error());
    std::uint64_t total = 0;
    for (const PayoutItem& item : *sorted) {
      if (item.amount == 0) return R::failure("payout item for " + item.address + " has a zero amount");
      total += item.amount;
    }
    auto tx = Transaction::begin(*db_, TxMode::write);
    if (!tx) return R::failure(tx.error());
    for (const PayoutItem& item : *sorted) {
      // On PostgreSQL the condition is re-checked under the row lock: two instances cannot both
      // take the same balance.
      auto r = db_->query("UPDATE balances SET balance = balance - ? WHERE address = ? AND balance >= ?",
                          {amount(item.amount), text(item.address), amount(item.amount)});
      if (!r) return R::failure(r.error());
      if (r->affected == 0) {
        auto have = db_->query("SELECT balance FROM balances WHERE address = ?", {text(item.address)});
        const std::string balance = have.ok() && !have->rows.empty() ? have->rows.front().text(0) : "0";
        return R::failure("balance of " + item.address + " is " + balance + ", short of the " +
                          std::to_string(item.amount) + " to pay");
      }
    }
    auto r = db_->query(
        "INSERT INTO payouts (status, tx_id, raw_tx, fee, total, created_ms, updated_ms, confirmed_height, note) "
        "VALUES (?, '', '', 0, ?, ?, ?, NULL, '') RETURNING id",
        {name_of(PayoutStatus::pending), amount(total), integer(now_ms), integer(now_ms)});
    if (!r) return R::failure(r.error());
    if (r->rows.empty()) return R::failure("the payout insert answered no id");
    const std::int64_t id = r->rows.front().integer(0);
    for (const PayoutItem& item : *sorted) {
      if (auto ins = db_->query("INSERT INTO payout_items (payout_id, address, amount) VALUES (?, ?, ?)",
                                {integer(id), text(item.address), amount(item.amount)});
          !ins) {
        return R::failure(ins.error());
      }
    }
    if (auto st = tx.value().commit(); !st) return R::failure(st.error());
    return id;
  }

  StoreStatus payout_signed(std::int64_t id, std::string_view tx_id, std::string_view raw_tx, std::uint64_t fee,
                            std::int64_t now_ms) override {
    if (!fits(fee)) return StoreStatus::failure("payout fee is over 2^63");
    return move_payout(id, "signing needs a pending payout",
                       "UPDATE payouts SET status = ?, tx_id = ?, raw_tx = ?, fee = ?, updated_ms = ? "
                       "WHERE id = ? AND status = ?",
                       {name_of(PayoutStatus::signed_tx), text(tx_id), text(raw_tx), amount(fee), integer(now_ms),
                        integer(id), name_of(PayoutStatus::pending)});
  }

  StoreStatus payout_submitted(std::int64_t id, std::int64_t now_ms) override {
    return move_payout(
        id, "submission needs a signed payout",
        "UPDATE payouts SET status = ?, updated_ms = ? WHERE id = ? AND status = ?",
        {name_of(PayoutStatus::submitted), integer(now_ms), integer(id), name_of(PayoutStatus::signed_tx)});
  }

  StoreStatus payout_confirmed(std::int64_t id, std::uint64_t height, std::int64_t now_ms) override {
    if (!fits(height)) return StoreStatus::failure("confirmation height is over 2^63");
    return move_payout(id, "confirmation needs a signed or submitted payout",
                       "UPDATE payouts SET status = ?, confirmed_height = ?, updated_ms = ? "
                       "WHERE id = ? AND status IN (?, ?)",
                       {name_of(PayoutStatus::confirmed), amount(height), integer(now_ms), integer(id),
                        name_of(PayoutStatus::signed_tx), name_of(PayoutStatus::submitted)});
  }

  StoreStatus payout_failed(std::int64_t id, std::string_view note, std::int64_t now_ms) override {
    auto tx = Transaction::begin(*db_, TxMode::write);
    if (!tx) return StoreStatus::failure(tx.error());
    auto r = db_->query(
        "UPDATE payouts SET status = ?, note = ?, updated_ms = ? WHERE id = ? AND status IN (?, ?, ?)",
        {name_of(PayoutStatus::failed), text(note), integer(now_ms), integer(id), name_of(PayoutStatus::pending),
         name_of(PayoutStatus::signed_tx), name_of(PayoutStatus::submitted)});
    if (!r) return StoreStatus::failure(r.error());
    if (r->affected == 0) return StoreStatus::failure(payout_refusal(id, "failing needs an open payout"));
    auto items = amounts<PayoutItem>(kPayoutItemsSelect, integer(id));
    if (!items) return StoreStatus::failure(items.error());
    for (const PayoutItem& i : *items) {
      if (auto st = add_to_balance(i.address, i.amount, 0); !st) return st;
    }
    return tx.value().commit();
  }

  core::Result<std::vector<Payout>> open_payouts() override {
    return payouts_where(
        "WHERE status IN (?, ?, ?) ORDER BY id",
        {name_of(PayoutStatus::pending), name_of(PayoutStatus::signed_tx), name_of(PayoutStatus::submitted)});
  }

  core::Result<std::vector<Payout>> payouts(std::optional<std::string_view> address, std::size_t limit) override {
    if (!address) return payouts_where("ORDER BY id DESC LIMIT ?", {limit_of(limit)});
    return payouts_where("WHERE id IN (SELECT payout_id FROM payout_items WHERE address = ?) ORDER BY id DESC LIMIT ?",
                         {text(*address), limit_of(limit)});
  }

  // ---- leases ----

  core::Result<bool> acquire_lease(std::string_view name, std::string_view holder, std::int64_t ttl_ms,
                                   std::int64_t now_ms) override {
    using R = core::Result<bool>;
    if (name.empty() || holder.empty()) return R::failure("a lease needs a name and a holder");
    if (ttl_ms <= 0) return R::failure("a lease needs a positive time to live");
    const std::int64_t expires = now_ms > std::numeric_limits<std::int64_t>::max() - ttl_ms
                                     ? std::numeric_limits<std::int64_t>::max()
                                     : now_ms + ttl_ms;
    // One statement, so two instances racing for a free lease cannot both win: the loser's
    // conflict branch sees the winner's row and its WHERE turns it down.
    auto r = sql::write_one(
        *db_,
        "INSERT INTO leases (name, holder, expires_ms) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
        "holder = excluded.holder, expires_ms = excluded.expires_ms "
        "WHERE leases.holder = excluded.holder OR leases.expires_ms <= ?",
        {text(name), text(holder), integer(expires), integer(now_ms)});
    if (!r) return R::failure(r.error());
    return r->affected == 1;
  }

  StoreStatus release_lease(std::string_view name, std::string_view holder) override {
    // Releasing a lease held by someone else (or by no one) changes nothing and is no error.
    auto r = sql::write_one(*db_, "DELETE FROM leases WHERE name = ? AND holder = ?", {text(name), text(holder)});
    if (!r) return StoreStatus::failure(r.error());
    return std::monostate{};
  }

 private:
  // Adds to an address's balance and immature totals, creating its row on first credit.
  StoreStatus add_to_balance(std::string_view address, std::uint64_t balance, std::uint64_t immature) {
    auto r = db_->query(
        "INSERT INTO balances (address, balance, immature) VALUES (?, ?, ?) ON CONFLICT (address) DO UPDATE SET "
        "balance = balances.balance + excluded.balance, immature = balances.immature + excluded.immature",
        {text(address), amount(balance), amount(immature)});
    if (!r) return StoreStatus::failure(r.error());
    return std::monostate{};
  }

  StoreStatus insert_credits(std::string_view hash, const std::vector<Credit>& sorted) {
    for (const Credit& c : sorted) {
      if (auto r = db_->query("INSERT INTO block_credits (block_hash, address, amount) VALUES (?, ?, ?)",
                              {text(hash), text(c.address), amount(c.amount)});
          !r) {
        return StoreStatus::failure(r.error());
      }
      if (auto st = add_to_balance(c.address, 0, c.amount); !st) return st;
    }
    return std::monostate{};
  }

  // Moves a block to `to` when it is in one of `from`; its credits leave `immature`, into
  // `balance` when it matures. False when the block is in another state.
  core::Result<bool> move_block(std::string_view hash, BlockStatus to, std::initializer_list<BlockStatus> from,
                                std::optional<std::string_view> note, std::int64_t now_ms) {
    using R = core::Result<bool>;
    std::vector<Value> params = {name_of(to), integer(now_ms), text(hash)};
    std::string guard;
    for (const BlockStatus s : from) {
      guard += guard.empty() ? "?" : ", ?";
      params.push_back(name_of(s));
    }
    if (note) params.insert(params.begin() + 1, text(*note));
    auto tx = Transaction::begin(*db_, TxMode::write);
    if (!tx) return R::failure(tx.error());
    auto r = db_->query(std::string("UPDATE blocks SET status = ?, ") + (note ? "note = ?, " : "") +
                            "updated_ms = ? WHERE hash = ? AND status IN (" + guard + ")",
                        params);
    if (!r) return R::failure(r.error());
    if (r->affected == 0) return not_moved(hash);
    auto credits = amounts<Credit>(kBlockCreditsSelect, text(hash));
    if (!credits) return R::failure(credits.error());
    const bool into_balance = to == BlockStatus::matured;
    for (const Credit& c : *credits) {
      const Value credit = amount(c.amount);
      const Value address = text(c.address);
      auto u = into_balance
                   ? db_->query(
                         "UPDATE balances SET immature = immature - ?, balance = balance + ? "
                         "WHERE address = ?",
                         {credit, credit, address})
                   : db_->query("UPDATE balances SET immature = immature - ? WHERE address = ?", {credit, address});
      if (!u) return R::failure(u.error());
      if (u->affected != 1) return R::failure("no balance row for credited address " + c.address);
    }
    if (auto st = tx.value().commit(); !st) return R::failure(st.error());
    return true;
  }

  // (address, amount) rows as credits or payout items, sorted (see sort_by_address).
  template <typename T>
  core::Result<std::vector<T>> amounts(std::string_view statement, Value key) {
    using R = core::Result<std::vector<T>>;
    auto r = db_->query(statement, {std::move(key)});
    if (!r) return R::failure(r.error());
    auto out = map_rows(r->rows, [](const Row& row) { return T{row.text(0), unsigned_at(row, 1)}; });
    sort_by_address(out);
    return out;
  }

  core::Result<std::optional<BlockStatus>> block_status(std::string_view hash) {
    using R = core::Result<std::optional<BlockStatus>>;
    auto r = db_->query("SELECT status FROM blocks WHERE hash = ?", {text(hash)});
    if (!r) return R::failure(r.error());
    if (r->rows.empty()) return std::optional<BlockStatus>{};
    return parse_block_status(r->rows.front().text(0));
  }

  // Why a guarded block UPDATE touched nothing.
  std::string block_refusal(std::string_view hash, std::string_view rule) {
    auto status = block_status(hash);
    if (!status) return status.error();
    if (!*status) return "no block " + std::string(hash);
    return "block " + std::string(hash) + " is " + std::string(block_status_name(**status)) + ": " + std::string(rule);
  }

  // A block move that did not happen: false when the block is in another state, an error when
  // there is no such block.
  core::Result<bool> not_moved(std::string_view hash) {
    using R = core::Result<bool>;
    auto status = block_status(hash);
    if (!status) return R::failure(status.error());
    if (!*status) return R::failure("no block " + std::string(hash));
    return false;
  }

  std::string payout_refusal(std::int64_t id, std::string_view rule) {
    auto r = db_->query("SELECT status FROM payouts WHERE id = ?", {integer(id)});
    if (!r) return r.error();
    if (r->rows.empty()) return "no payout " + std::to_string(id);
    return "payout " + std::to_string(id) + " is " + r->rows.front().text(0) + ": " + std::string(rule);
  }

  StoreStatus move_payout(std::int64_t id, std::string_view rule, const std::string& statement, Params params) {
    auto r = sql::write_one(*db_, statement, params);
    if (!r) return StoreStatus::failure(r.error());
    if (r->affected == 0) return StoreStatus::failure(payout_refusal(id, rule));
    return std::monostate{};
  }

  core::Result<std::vector<Payout>> payouts_where(const std::string& where, Params params) {
    using R = core::Result<std::vector<Payout>>;
    auto tx = Transaction::begin(*db_, TxMode::read);
    if (!tx) return R::failure(tx.error());
    auto r = db_->query("SELECT " + std::string(kPayoutColumns) + " FROM payouts " + where, params);
    if (!r) return R::failure(r.error());
    std::vector<Payout> out;
    out.reserve(r->rows.size());
    for (const Row& row : r->rows) {
      Payout p = payout_from_row(row);
      auto items = amounts<PayoutItem>(kPayoutItemsSelect, integer(p.id));
      if (!items) return R::failure(items.error());
      p.items = std::move(items).value();
      out.push_back(std::move(p));
    }
    if (auto st = tx.value().commit(); !st) return R::failure(st.error());
    return out;
  }

  std::unique_ptr<Connection> db_;
};

}  // namespace

std::string_view block_status_name(BlockStatus status) {
  const auto index = static_cast<std::size_t>(status);
  return index < kBlockStatusNames.size() ? kBlockStatusNames[index] : "unknown";
}

std::optional<BlockStatus> parse_block_status(std::string_view name) {
  return parse_name<BlockStatus>(kBlockStatusNames, name);
}

std::string_view payout_status_name(PayoutStatus status) {
  const auto index = static_cast<std::size_t>(status);
  return index < kPayoutStatusNames.size() ? kPayoutStatusNames[index] : "unknown";
}

std::optional<PayoutStatus> parse_payout_status(std::string_view name) {
  return parse_name<PayoutStatus>(kPayoutStatusNames, name);
}

core::Result<std::unique_ptr<Store>> Store::open(std::string_view url) {
  using R = core::Result<std::unique_ptr<Store>>;
  auto db = sql::connect(url);
  if (!db) return R::failure(db.error());
  auto store = std::make_unique<SqlStore>(std::move(db).value());
  if (auto st = store->create_schema(); !st) return R::failure("cannot set up the pool database: " + st.error());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace tensority::pool
