// The PostgreSQL side of the pool's SQL layer: statements are prepared once per connection under
// generated names, parameters travel as text with their types declared, and results come back
// as text, with integer columns (NUMERIC sums included) turned into int64.
#include "sql.hpp"

#include <libpq-fe.h>

#include <charconv>
#include <memory>
#include <unordered_map>

namespace tensority::pool::sql {
namespace {

// Type OIDs from the server's pg_type catalog; fixed since PostgreSQL 7.
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kInt8Oid = 20;
constexpr Oid kTextOid = 25;
constexpr Oid kNumericOid = 1700;

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

// `?` becomes $1..$n, except inside quoted literals and identifiers.
std::string number_placeholders(std::string_view statement, std::size_t& count) {
  std::string out;
  out.reserve(statement.size() + 16);
  count = 0;
  char quote = 0;
  for (const char c : statement) {
    if (quote != 0) {
      if (c == quote) quote = 0;  // a doubled quote closes and reopens: still right
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '?') {
      out += '$';
      out += std::to_string(++count);
      continue;
    }
    out += c;
  }
  return out;
}

std::string result_message(const PGresult* res, const PGconn* conn) {
  const char* primary = res != nullptr ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  if (primary == nullptr) return one_line(PQerrorMessage(conn));
  std::string message = primary;
  if (const char* detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL); detail != nullptr) {
    message += ": ";
    message += detail;
  }
  return one_line(message);
}

class PgConnection final : public Connection {
 public:
  explicit PgConnection(PGconn* conn) : conn_(conn) {}
  ~PgConnection() override { PQfinish(conn_); }
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  Dialect dialect() const override { return Dialect::postgresql; }

  core::Result<QueryResult> query(std::string_view statement, std::span<const Value> params) override {
    using R = core::Result<QueryResult>;
    auto name = prepare(statement, params);
    if (!name) return R::failure(name.error());

    std::vector<std::string> texts(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    for (std::size_t i = 0; i < params.size(); ++i) {
      if (const auto* v = std::get_if<std::int64_t>(&params[i])) {
        texts[i] = std::to_string(*v);
        values[i] = texts[i].c_str();
      } else if (const auto* s = std::get_if<std::string>(&params[i])) {
        values[i] = s->c_str();
      }
    }
    PgResult res(
        PQexecPrepared(conn_, name->c_str(), static_cast<int>(params.size()), values.data(), nullptr, nullptr, 0));
    const ExecStatusType status = res != nullptr ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) return R::failure(failure_text(res.get(), statement));

    QueryResult result;
    const int rows = PQntuples(res.get());
    const int columns = PQnfields(res.get());
    result.rows.reserve(static_cast<std::size_t>(rows));
    for (int r = 0; r < rows; ++r) {
      std::vector<Value> cells;
      cells.reserve(static_cast<std::size_t>(columns));
      for (int c = 0; c < columns; ++c) {
        if (PQgetisnull(res.get(), r, c) != 0) {
          cells.emplace_back(std::monostate{});
          continue;
        }
        const char* text = PQgetvalue(res.get(), r, c);
        const auto size = static_cast<std::size_t>(PQgetlength(res.get(), r, c));
        const Oid type = PQftype(res.get(), c);
        if (type == kInt8Oid || type == kInt4Oid || type == kInt2Oid || type == kNumericOid) {
          std::int64_t v = 0;
          const auto [end, ec] = std::from_chars(text, text + size, v);
          if (ec != std::errc() || end != text + size) {
            return R::failure("postgresql: column " + std::to_string(c + 1) + " holds " + one_line(text, 40) +
                              ", not a 64-bit integer (in: " + one_line(statement, 80) + ")");
          }
          cells.emplace_back(v);
        } else {
          cells.emplace_back(std::string(text, size));
        }
      }
      result.rows.emplace_back(std::move(cells));
    }
    const std::string_view affected = PQcmdTuples(res.get());
    if (!affected.empty()) std::from_chars(affected.data(), affected.data() + affected.size(), result.affected);
    return result;
  }

  Status exec(std::string_view script) override {
    PgResult res(PQexec(conn_, std::string(script).c_str()));
    const ExecStatusType status = res != nullptr ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
      return Status::failure(failure_text(res.get(), script));
    // The server answers COMMIT of an aborted transaction with ROLLBACK and no error.
    if (script == "COMMIT" && std::string_view(PQcmdStatus(res.get())) == "ROLLBACK") {
      return Status::failure("postgresql: the transaction was rolled back, not committed");
    }
    return std::monostate{};
  }

  // Read committed for writers: each guarded UPDATE re-checks its WHERE on the newest row version
  // after waiting for a row lock, which is what keeps two instances from moving a row twice.
  // Readers get one snapshot across their statements.
  Status begin(TxMode mode) override {
    // A connection lost between calls is reopened here, never inside a transaction: statements
    // after a silent reconnect would run outside the transaction they belong to.
    if (PQstatus(conn_) == CONNECTION_BAD) {
      PQreset(conn_);
      prepared_.clear();
      if (PQstatus(conn_) != CONNECTION_OK) {
        return Status::failure("postgresql: connection lost and not re-established: " +
                               one_line(PQerrorMessage(conn_)));
      }
    }
    return exec(mode == TxMode::write ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  }

 private:
  // Answers the server-side name of the statement, preparing it on first use.
  core::Result<std::string> prepare(std::string_view statement, std::span<const Value> params) {
    using R = core::Result<std::string>;
    std::string key(statement);
    if (auto it = prepared_.find(key); it != prepared_.end()) return it->second;
    std::size_t count = 0;
    const std::string numbered = number_placeholders(statement, count);
    if (count != params.size()) {
      return R::failure("postgresql: statement takes " + std::to_string(count) + " parameters, given " +
                        std::to_string(params.size()) + " (in: " + one_line(statement) + ")");
    }
    // Declared types keep the server from guessing; a NULL leaves its slot to inference.
    std::vector<Oid> types(params.size(), 0);
    for (std::size_t i = 0; i < params.size(); ++i) {
      if (std::holds_alternative<std::int64_t>(params[i])) types[i] = kInt8Oid;
      if (std::holds_alternative<std::string>(params[i])) types[i] = kTextOid;
    }
    std::string name = "tensority_" + std::to_string(prepared_.size() + 1);
    PgResult res(PQprepare(conn_, name.c_str(), numbered.c_str(), static_cast<int>(types.size()), types.data()));
    if (res == nullptr || PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
      return R::failure(failure_text(res.get(), statement));
    }
    prepared_.emplace(std::move(key), name);
    return name;
  }

  std::string failure_text(const PGresult* res, std::string_view statement) const {
    return "postgresql: " + result_message(res, conn_) + " (in: " + one_line(statement, 80) + ")";
  }

  PGconn* conn_;
  std::unordered_map<std::string, std::string> prepared_;  // statement text -> prepared name
};

}  // namespace

core::Result<std::unique_ptr<Connection>> open_postgresql(const std::string& conninfo) {
  using R = core::Result<std::unique_ptr<Connection>>;
  // expand_dbname: `dbname` may be a whole URI; the fallback names us in pg_stat_activity
  // unless the URI sets application_name itself.
  const char* keywords[] = {"dbname", "fallback_application_name", nullptr};
  const char* values[] = {conninfo.c_str(), "tensority-pool", nullptr};
  PGconn* conn = PQconnectdbParams(keywords, values, 1);
  if (conn == nullptr) return R::failure("postgresql: out of memory while connecting");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = one_line(PQerrorMessage(conn));
    PQfinish(conn);
    return R::failure("cannot connect to PostgreSQL: " + message);
  }
  // CREATE ... IF NOT EXISTS and friends send NOTICEs that libpq would print on stderr.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  return std::unique_ptr<Connection>(std::make_unique<PgConnection>(conn));
}

}  // namespace tensority::pool::sql
