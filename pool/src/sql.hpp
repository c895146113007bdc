#pragma once
// A small SQL layer under the pool's Store: one Connection interface over SQLite and PostgreSQL
// so the schema and the statements stay shared text. Statements use `?` placeholders (the
// PostgreSQL side numbers them $1..$n) and always bind values: nothing is formatted into SQL.
// Every failure is a one-line core::Result error naming the database's words and the statement.
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tensority/core/types.hpp"

namespace tensority::pool::sql {

using Status = core::Result<std::monostate>;

// A bound parameter or a result cell. Integer columns come back as int64 on both backends
// (PostgreSQL's SUM over BIGINT is NUMERIC: it is converted), everything else as text.
using Value = std::variant<std::monostate, std::int64_t, std::string>;

inline Value integer(std::int64_t v) { return Value{v}; }
inline Value text(std::string_view v) { return Value{std::string(v)}; }

class Row {
 public:
  explicit Row(std::vector<Value> cells) : cells_(std::move(cells)) {}

  std::size_t size() const { return cells_.size(); }
  bool is_null(std::size_t column) const { return std::holds_alternative<std::monostate>(cells_.at(column)); }
  // NULL reads as 0 and "" so that aggregates over no rows need no special case.
  std::int64_t integer(std::size_t column) const {
    const Value& v = cells_.at(column);
    if (const auto* i = std::get_if<std::int64_t>(&v)) return *i;
    return 0;
  }
  std::string text(std::size_t column) const {
    const Value& v = cells_.at(column);
    if (const auto* s = std::get_if<std::string>(&v)) return *s;
    if (const auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
    return {};
  }

 private:
  std::vector<Value> cells_;
};

struct QueryResult {
  std::vector<Row> rows;
  std::uint64_t affected = 0;  // rows changed by INSERT / UPDATE / DELETE
};

enum class Dialect { sqlite, postgresql };

// Read transactions see one snapshot; write transactions take the write lock up front on SQLite
// (so a writer never fails half-way on a lock upgrade) and rely on row locks on PostgreSQL.
enum class TxMode { read, write };

class Connection {
 public:
  virtual ~Connection() = default;
  virtual Dialect dialect() const = 0;
  // One statement with `?` placeholders bound in order.
  virtual core::Result<QueryResult> query(std::string_view statement, std::span<const Value> params) = 0;
  // Several statements without parameters (schema scripts, transaction control).
  virtual Status exec(std::string_view script) = 0;
  virtual Status begin(TxMode mode) = 0;

  core::Result<QueryResult> query(std::string_view statement, std::initializer_list<Value> params) {
    return query(statement, std::span<const Value>(params.begin(), params.size()));
  }
  Status commit() { return exec("COMMIT"); }
  Status rollback() { return exec("ROLLBACK"); }
};

// Rolls back on scope exit unless committed, so every early error return leaves no change.
class Transaction {
 public:
  static core::Result<Transaction> begin(Connection& db, TxMode mode) {
    if (auto st = db.begin(mode); !st) return core::Result<Transaction>::failure(st.error());
    return Transaction(db);
  }
  Transaction(Transaction&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction() {
    if (db_ != nullptr) (void)db_->rollback();
  }

  Status commit() {
    Connection* db = db_;
    db_ = nullptr;
    if (db == nullptr) return Status::failure("transaction already finished");
    auto st = db->commit();
    // A failed COMMIT can leave PostgreSQL in an aborted transaction: clear it.
    if (!st) (void)db->rollback();
    return st;
  }

 private:
  explicit Transaction(Connection& db) : db_(&db) {}
  Connection* db_;
};

// One statement in a transaction of its own (the Store runs every call as one transaction).
inline core::Result<std::vector<Row>> read_one(Connection& db, std::string_view statement,
                                               std::initializer_list<Value> params) {
  using R = core::Result<std::vector<Row>>;
  auto tx = Transaction::begin(db, TxMode::read);
  if (!tx) return R::failure(tx.error());
  auto r = db.query(statement, params);
  if (!r) return R::failure(r.error());
  if (auto st = tx.value().commit(); !st) return R::failure(st.error());
  return std::move(r).value().rows;
}

inline core::Result<QueryResult> write_one(Connection& db, std::string_view statement,
                                           std::initializer_list<Value> params) {
  using R = core::Result<QueryResult>;
  auto tx = Transaction::begin(db, TxMode::write);
  if (!tx) return R::failure(tx.error());
  auto r = db.query(statement, params);
  if (!r) return R::failure(r.error());
  if (auto st = tx.value().commit(); !st) return R::failure(st.error());
  return r;
}

// sqlite: creates the parent directory, holds an exclusive flock on PATH.lock for the
// connection's life (a second process, or a second open in this one, is refused), and sets WAL,
// synchronous=FULL, a busy timeout and foreign keys.
core::Result<std::unique_ptr<Connection>> open_sqlite(const std::string& path);
// postgresql: any libpq conninfo string or URI.
core::Result<std::unique_ptr<Connection>> open_postgresql(const std::string& conninfo);

// Collapses a statement or a database message to one short line for error text.
inline std::string one_line(std::string_view text, std::size_t max_chars = 160) {
  std::string out;
  bool pending_space = false;
  for (const char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
  }
  if (out.size() > max_chars) {
    std::size_t cut = max_chars - 3;
    // Never split a UTF-8 sequence.
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
    out += "...";
  }
  return out;
}

// Chooses the backend by URL: sqlite:PATH (sqlite:///abs/path also reads as /abs/path) or a
// postgresql:// / postgres:// URI handed whole to libpq.
inline core::Result<std::unique_ptr<Connection>> connect(std::string_view url) {
  using R = core::Result<std::unique_ptr<Connection>>;
  constexpr std::string_view kForms = "expected sqlite:PATH or postgresql://USER@HOST:PORT/DB";
  if (url.starts_with("sqlite:")) {
    std::string_view path = url.substr(7);
    if (path.starts_with("//")) path.remove_prefix(2);
    if (path.empty()) return R::failure("store URL '" + one_line(url) + "' names no file: " + std::string(kForms));
    return open_sqlite(std::string(path));
  }
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) return open_postgresql(std::string(url));
  const std::size_t colon = url.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return R::failure("malformed store URL '" + one_line(url) + "': " + std::string(kForms));
  }
  return R::failure("unknown store URL scheme '" + one_line(url.substr(0, colon)) + "': " + std::string(kForms));
}

}  // namespace tensority::pool::sql
