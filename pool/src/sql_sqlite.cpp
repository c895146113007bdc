// The SQLite side of the pool's SQL layer: one connection per Store, prepared statements kept
// for the connection's life, and a lock file so no second process writes the same database.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <unordered_map>

#include "sql.hpp"

namespace tensority::pool::sql {
namespace {

// Long enough to ride out a checkpoint; the lock file keeps other writers away anyway.
constexpr int kBusyTimeoutMs = 5000;

class SqliteConnection final : public Connection {
 public:
  SqliteConnection(sqlite3* db, int lock_fd) : db_(db), lock_fd_(lock_fd) {}
  ~SqliteConnection() override {
    for (auto& [text, statement] : statements_) sqlite3_finalize(statement);
    sqlite3_close_v2(db_);
    if (lock_fd_ >= 0) ::close(lock_fd_);  // closing releases the flock
  }
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  Dialect dialect() const override { return Dialect::sqlite; }

  core::Result<QueryResult> query(std::string_view statement, std::span<const Value> params) override {
    using R = core::Result<QueryResult>;
    auto prepared = prepare(statement);
    if (!prepared) return R::failure(prepared.error());
    sqlite3_stmt* stmt = *prepared;
    // Reset even on error: a statement left mid-step would hold its read snapshot open.
    struct ResetOnExit {
      sqlite3_stmt* stmt;
      ~ResetOnExit() {
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt);
      }
    } reset{stmt};

    const auto expected = static_cast<std::size_t>(sqlite3_bind_parameter_count(stmt));
    if (expected != params.size()) {
      return R::failure("sqlite: statement takes " + std::to_string(expected) + " parameters, given " +
                        std::to_string(params.size()) + " (in: " + one_line(statement) + ")");
    }
    for (std::size_t i = 0; i < params.size(); ++i) {
      const int index = static_cast<int>(i) + 1;
      int rc = SQLITE_OK;
      if (const auto* v = std::get_if<std::int64_t>(&params[i])) {
        rc = sqlite3_bind_int64(stmt, index, *v);
      } else if (const auto* s = std::get_if<std::string>(&params[i])) {
        rc = sqlite3_bind_text64(stmt, index, s->data(), s->size(), SQLITE_TRANSIENT, SQLITE_UTF8);
      } else {
        rc = sqlite3_bind_null(stmt, index);
      }
      if (rc != SQLITE_OK) return R::failure(failure_text(statement));
    }

    QueryResult result;
    for (;;) {
      const int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return R::failure(failure_text(statement));
      result.rows.push_back(read_row(stmt));
    }
    // sqlite3_changes64 keeps the count of the last writing statement: a SELECT must not echo it.
    if (sqlite3_stmt_readonly(stmt) == 0) result.affected = static_cast<std::uint64_t>(sqlite3_changes64(db_));
    return result;
  }

  Status exec(std::string_view script) override {
    char* message = nullptr;
    const int rc = sqlite3_exec(db_, std::string(script).c_str(), nullptr, nullptr, &message);
    if (rc == SQLITE_OK) return std::monostate{};
    std::string text = "sqlite: " + one_line(message != nullptr ? message : sqlite3_errstr(rc)) +
                       " (in: " + one_line(script, 80) + ")";
    sqlite3_free(message);
    return Status::failure(std::move(text));
  }

  // IMMEDIATE takes the write lock at BEGIN, so a writer never fails later on a lock upgrade.
  Status begin(TxMode mode) override { return exec(mode == TxMode::write ? "BEGIN IMMEDIATE" : "BEGIN"); }

 private:
  core::Result<sqlite3_stmt*> prepare(std::string_view statement) {
    using R = core::Result<sqlite3_stmt*>;
    std::string key(statement);
    if (auto it = statements_.find(key); it != statements_.end()) return it->second;
    sqlite3_stmt* stmt = nullptr;
    const int rc =
        sqlite3_prepare_v3(db_, key.data(), static_cast<int>(key.size()), SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK || stmt == nullptr) {
      sqlite3_finalize(stmt);
      return R::failure(failure_text(statement));
    }
    statements_.emplace(std::move(key), stmt);
    return stmt;
  }

  static Row read_row(sqlite3_stmt* stmt) {
    const int columns = sqlite3_column_count(stmt);
    std::vector<Value> cells;
    cells.reserve(static_cast<std::size_t>(columns));
    for (int c = 0; c < columns; ++c) {
      switch (sqlite3_column_type(stmt, c)) {
        case SQLITE_NULL:
          cells.emplace_back(std::monostate{});
          break;
        case SQLITE_INTEGER:
          cells.emplace_back(static_cast<std::int64_t>(sqlite3_column_int64(stmt, c)));
          break;
        case SQLITE_FLOAT:  // only an overflowing integer aggregate gets here
          cells.emplace_back(static_cast<std::int64_t>(std::llround(sqlite3_column_double(stmt, c))));
          break;
        default: {
          const auto* bytes = static_cast<const char*>(sqlite3_column_blob(stmt, c));
          const auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt, c));
          cells.emplace_back(bytes != nullptr ? std::string(bytes, size) : std::string());
        }
      }
    }
    return Row(std::move(cells));
  }

  std::string failure_text(std::string_view statement) const {
    return "sqlite: " + one_line(sqlite3_errmsg(db_)) + " (in: " + one_line(statement, 80) + ")";
  }

  sqlite3* db_;
  int lock_fd_;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

// Holds `lock_path` exclusively; answers the descriptor (closing it releases the lock).
core::Result<int> lock_database(const std::string& db_path) {
  using R = core::Result<int>;
  const std::string lock_path = db_path + ".lock";
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return R::failure("cannot open lock file " + lock_path + ": " + std::strerror(errno));
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return R::failure("the pool database " + db_path + " is in use: another process (or Store) holds " + lock_path);
    }
    return R::failure("cannot lock " + lock_path + ": " + std::strerror(err));
  }
  return fd;
}

}  // namespace

core::Result<std::unique_ptr<Connection>> open_sqlite(const std::string& path) {
  using R = core::Result<std::unique_ptr<Connection>>;
  if (path.empty()) return R::failure("sqlite: no database file given");
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) return R::failure("cannot create directory " + parent.string() + ": " + ec.message());
  }
  auto lock_fd = lock_database(path);
  if (!lock_fd) return R::failure(lock_fd.error());

  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    sqlite3_close_v2(raw);
    ::close(*lock_fd);
    return R::failure("cannot open " + path + ": " + one_line(message));
  }
  sqlite3_busy_timeout(raw, kBusyTimeoutMs);
  auto db = std::make_unique<SqliteConnection>(raw, *lock_fd);

  auto mode = db->query("PRAGMA journal_mode=WAL", std::span<const Value>{});
  if (!mode) return R::failure("cannot open " + path + ": " + mode.error());
  const std::string journal = mode->rows.empty() ? std::string() : mode->rows.front().text(0);
  if (journal != "wal") return R::failure("cannot switch " + path + " to WAL mode (journal_mode is " + journal + ")");
  // FULL: every commit reaches the disk before it returns, so a power cut cannot lose a
  // recorded payout transaction whose bytes already went to the node (NORMAL would survive a
  // kill -9 but not that). Shares are committed in batches, so the cost is one sync per batch.
  if (auto st = db->exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"); !st) {
    return R::failure("cannot open " + path + ": " + st.error());
  }
  return std::unique_ptr<Connection>(std::move(db));
}

}  // namespace tensority::pool::sql
