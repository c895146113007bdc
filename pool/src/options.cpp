#include "tensority/pool/options.hpp"

#include <cmath>
#include <cstdlib>
#include <thread>

#include "tensority/net/http.hpp"

namespace tensority::pool {
namespace {

using config::Option;
using config::Type;

Option make(std::string key, std::string flag, Type type, std::string default_text, std::string group,
            std::string help) {
  Option o;
  o.key = std::move(key);
  o.flag = std::move(flag);
  o.type = type;
  o.default_text = std::move(default_text);
  o.group = std::move(group);
  o.help = std::move(help);
  return o;
}

Option ranged(Option o, double min, double max, std::string value_name) {
  o.min = min;
  o.max = max;
  o.value_name = std::move(value_name);
  return o;
}

std::chrono::milliseconds ms(double seconds) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(seconds * 1000.0)));
}

std::string check_node_url(const std::string& v) {
  return net::parse_url(v).ok() ? "" : "a node URL: http://HOST:PORT";
}

std::string check_database(const std::string& v) {
  if (v.rfind("sqlite:", 0) == 0 && v.size() > 7) return "";
  if (v.rfind("postgresql://", 0) == 0 || v.rfind("postgres://", 0) == 0) return "";
  return "sqlite:PATH or postgresql://USER@HOST:PORT/DB";
}

}  // namespace

std::string default_pool_data_dir() {
  if (const char* x = std::getenv("XDG_DATA_HOME"); x != nullptr && *x != '\0')
    return std::string(x) + "/tensority/pool";
  if (const char* h = std::getenv("HOME"); h != nullptr && *h != '\0')
    return std::string(h) + "/.local/share/tensority/pool";
  return "tensority-pool";
}

config::Schema pool_schema() {
  std::vector<Option> o;
  const std::string up = "Node", st = "Stratum", vd = "Vardiff", sh = "Shares", ac = "Accounting and payouts",
                    db = "Storage", rep = "Reporting and API";

  Option node = make("node", "node", Type::string, "", up,
                     "the node that gives work and takes blocks (get-work/submit-work), http://HOST:PORT");
  node.value_name = "URL", node.check = check_node_url, node.allowed = "http://HOST:PORT";
  o.push_back(node);
  o.push_back(
      make("node-token", "node-token", Type::string, "", up, "token for the node RPC: ours (node --rpc-token) as a bearer token, or a bytomd access token ID:SECRET, sent as HTTP Basic"));
  Option net = make("network", "network", Type::string, "auto", up,
                    "the chain miners' addresses must belong to (auto: the node's net-info network_id)");
  net.choices = {"auto", "mainnet", "testnet", "wisdom", "solonet", "regtest"};
  o.push_back(net);

  o.push_back(
      make("stratum.bind", "stratum-bind", Type::string, "0.0.0.0", st, "address the stratum server listens on"));
  o.push_back(ranged(make("stratum.port", "stratum-port", Type::integer, "6666", st, "stratum port (0: any free port)"),
                     0, 65535, "PORT"));
  o.push_back(ranged(make("stratum.threads", "stratum-threads", Type::integer, "2", st, "I/O threads for sessions"), 1,
                     256, "N"));
  o.push_back(ranged(make("instance-id", "instance-id", Type::integer, "0", st,
                          "this instance's id (0-127): its nonce ranges; unique among instances sharing a database"),
                     0, 127, "N"));
  o.push_back(ranged(make("stratum.max-sessions", "max-sessions", Type::integer, "100000", st, "sessions at most"), 1,
                     16'000'000, "N"));
  o.push_back(ranged(make("stratum.max-sessions-per-ip", "max-sessions-per-ip", Type::integer, "5000", st,
                          "sessions from one IP address at most (0: no limit)"),
                     0, 16'000'000, "N"));
  o.push_back(ranged(make("stratum.idle-timeout", "idle-timeout", Type::number, "600", st,
                          "close a session that sends nothing this long"),
                     5, 86400, "SECONDS"));
  o.push_back(ranged(make("stratum.login-timeout", "login-timeout", Type::number, "30", st,
                          "close a connection that has not logged in this long"),
                     1, 3600, "SECONDS"));
  o.push_back(ranged(make("stratum.max-line", "max-line", Type::integer, "10240", st,
                          "longest line accepted; a longer one closes the session (flood)"),
                     512, 1 << 20, "BYTES"));
  o.push_back(ranged(make("stratum.login-rate", "login-rate", Type::number, "50", st, "logins per second per IP"), 0.01,
                     1e6, "N"));
  o.push_back(ranged(make("stratum.login-burst", "login-burst", Type::number, "1000", st,
                          "logins at once per IP (a farm reconnecting)"),
                     1, 1e7, "N"));
  o.push_back(ranged(make("stratum.submit-rate", "submit-rate", Type::number, "20", st,
                          "submits and getjobs per second per session"),
                     0.01, 1e6, "N"));
  o.push_back(ranged(make("stratum.submit-burst", "submit-burst", Type::number, "100", st,
                          "submits and getjobs at once per session"),
                     1, 1e7, "N"));
  o.push_back(ranged(make("ban.min-submits", "ban-min-submits", Type::integer, "100", st,
                          "submits a session must have sent before it can be banned"),
                     1, 1e9, "N"));
  o.push_back(ranged(make("ban.invalid-percent", "ban-invalid-percent", Type::number, "50", st,
                          "ban a login once this share of its submits was invalid"),
                     1, 100, "PERCENT"));
  o.push_back(ranged(make("ban.duration", "ban-duration", Type::number, "1200", st, "ban length (0: never ban)"), 0,
                     1e8, "SECONDS"));
  o.push_back(make("ban.ip", "ban-ip", Type::boolean, "true", st, "ban an IP that floods logins or connections (bad shares ban only their login)"));

  o.push_back(
      ranged(make("vardiff.start", "start-difficulty", Type::integer, "8192", vd, "difficulty of a new session"), 2,
             4294967296.0, "D"));
  o.push_back(ranged(make("vardiff.min", "min-difficulty", Type::integer, "64", vd, "lowest share difficulty"), 2,
                     4294967296.0, "D"));
  o.push_back(ranged(make("vardiff.max", "max-difficulty", Type::integer, "4294967296", vd,
                          "highest share difficulty (2^32: the most the 4-byte target field can say)"),
                     2, 4294967296.0, "D"));
  o.push_back(ranged(make("vardiff.share-interval", "share-interval", Type::number, "15", vd,
                          "seconds per share each session is steered towards"),
                     0.1, 86400, "SECONDS"));
  o.push_back(ranged(make("vardiff.retarget-interval", "retarget-interval", Type::number, "30", vd,
                          "least time between two changes of a session's difficulty"),
                     0.1, 86400, "SECONDS"));
  o.push_back(ranged(make("vardiff.variance", "variance", Type::number, "30", vd,
                          "deviation from the share interval tolerated without a change"),
                     0, 99, "PERCENT"));

  o.push_back(ranged(make("check-threads", "check-threads", Type::integer, "0", sh,
                          "threads checking shares, one Tensority hash each (0: one per core)"),
                     0, 1024, "N"));
  Option dev = make("check-device", "check-device", Type::string, "cpu", sh,
                    "device that hashes shares: cpu, or a GPU id such as cuda:0 or opencl:0:0");
  dev.value_name = "DEVICE";
  o.push_back(dev);
  o.push_back(ranged(make("check-queue", "check-queue", Type::integer, "4096", sh,
                          "shares waiting to be checked at most; beyond it a submit is answered busy"),
                     1, 1e7, "N"));

  Option scheme = make("scheme", "scheme", Type::string, "pplns", ac, "how rewards are shared");
  scheme.choices = {"pplns", "pps", "solo"};
  o.push_back(scheme);
  o.push_back(
      ranged(make("fee", "fee", Type::number, "1", ac, "pool fee, kept in the pool wallet"), 0, 100, "PERCENT"));
  o.push_back(ranged(
      make("pplns-window", "pplns-window", Type::number, "2", ac, "PPLNS window in network difficulties of shares"),
      0.01, 1000, "N"));
  o.push_back(make("payout.keystore", "payout-keystore", Type::string, "", ac,
                   "the pool wallet's key store (tensority wallet); the node's --mining-address must be one of its "
                   "addresses. Empty: no payouts"));
  o.push_back(make("payout.passphrase-file", "payout-passphrase-file", Type::string, "", ac,
                   "file holding the key store's passphrase (else $TENSORITY_POOL_PASSPHRASE)"));
  o.push_back(ranged(make("payout.minimum", "payout-minimum", Type::number, "1", ac, "least balance paid out"),
                     0.00000001, 2e10, "BTM"));
  o.push_back(ranged(make("payout.interval", "payout-interval", Type::number, "600", ac, "seconds between payout runs"),
                     1, 1e7, "SECONDS"));
  o.push_back(ranged(
      make("payout.max-outputs", "payout-max-outputs", Type::integer, "50", ac, "recipients per payout transaction"), 1,
      1000, "N"));

  o.push_back(make("data-dir", "data-dir", Type::string, "", db,
                   "directory for the SQLite database (default $XDG_DATA_HOME/tensority/pool)"));
  Option database = make("database", "database", Type::string, "", db,
                         "store URL: sqlite:PATH, or postgresql://USER@HOST:PORT/DB for several instances");
  database.value_name = "URL", database.check = check_database, database.allowed = "sqlite:PATH, postgresql://...";
  o.push_back(database);
  o.push_back(ranged(make("share-retention", "share-retention", Type::number, "7", db,
                          "days accepted shares are kept (none are pruned while a found block waits for its credits)"),
                     1, 3650, "DAYS"));

  o.push_back(make("api.enabled", "api", Type::boolean, "true", rep,
                   "serve the HTTP API (/v1/pool, /v1/network, /v1/blocks, /v1/miners, /v1/miner, /v1/payments, /metrics)"));
  o.push_back(make("api.bind", "api-bind", Type::string, "127.0.0.1", rep, "address the API listens on"));
  o.push_back(ranged(make("api.port", "api-port", Type::integer, "4070", rep, "API port (0: any free port)"), 0, 65535,
                     "PORT"));
  o.push_back(make("api.token", "api-token", Type::string, "", rep, "require this bearer token on every API request"));
  o.push_back(ranged(make("print-time", "print-time", Type::number, "60", rep, "seconds between status lines"), 1,
                     86400, "SECONDS"));
  o.push_back(ranged(make("duration", "duration", Type::number, "0", rep, "stop after this long (0: until stopped)"), 0,
                     1e9, "SECONDS"));
  Option level = make("log-level", "log-level", Type::string, "info", rep, "least important log lines shown");
  level.choices = {"debug", "info", "warn", "error"};
  o.push_back(level);
  return config::Schema("pool", std::move(o));
}

core::Result<PoolConfig> pool_config(const config::Values& v) {
  using R = core::Result<PoolConfig>;
  PoolConfig c;
  c.node_url = v.get_string("node");
  if (c.node_url.empty()) return R::failure("--node is required: the node's RPC, http://HOST:PORT");
  c.node_token = v.get_string("node-token");
  c.network = v.get_string("network");

  auto& s = c.server;
  s.bind_address = v.get_string("stratum.bind");
  s.port = static_cast<std::uint16_t>(v.get_int("stratum.port"));
  s.threads = static_cast<unsigned>(v.get_int("stratum.threads"));
  s.instance = static_cast<std::uint32_t>(v.get_int("instance-id"));
  s.max_sessions = static_cast<std::size_t>(v.get_int("stratum.max-sessions"));
  s.max_sessions_per_ip = static_cast<std::size_t>(v.get_int("stratum.max-sessions-per-ip"));
  s.idle_timeout = ms(v.get_number("stratum.idle-timeout"));
  s.login_timeout = ms(v.get_number("stratum.login-timeout"));
  s.max_line = static_cast<std::size_t>(v.get_int("stratum.max-line"));
  s.login_rate = v.get_number("stratum.login-rate");
  s.login_burst = v.get_number("stratum.login-burst");
  s.submit_rate = v.get_number("stratum.submit-rate");
  s.submit_burst = v.get_number("stratum.submit-burst");
  s.ban_min_submits = static_cast<std::uint64_t>(v.get_int("ban.min-submits"));
  s.ban_invalid_ratio = v.get_number("ban.invalid-percent") / 100.0;
  s.ban_duration = ms(v.get_number("ban.duration"));
  s.ban_ip = v.get_bool("ban.ip");

  auto& d = s.vardiff;
  d.start = static_cast<std::uint64_t>(v.get_int("vardiff.start"));
  d.min = static_cast<std::uint64_t>(v.get_int("vardiff.min"));
  d.max = static_cast<std::uint64_t>(v.get_int("vardiff.max"));
  if (d.min > d.max)
    return R::failure("vardiff.min (" + std::to_string(d.min) + ") is above vardiff.max (" + std::to_string(d.max) +
                      ")");
  if (d.start < d.min || d.start > d.max) {
    return R::failure("vardiff.start (" + std::to_string(d.start) + ") must lie between vardiff.min and vardiff.max");
  }
  d.target_interval = ms(v.get_number("vardiff.share-interval"));
  d.retarget_interval = ms(v.get_number("vardiff.retarget-interval"));
  d.variance = v.get_number("vardiff.variance") / 100.0;

  const auto threads = v.get_int("check-threads");
  c.processor.threads =
      threads > 0 ? static_cast<unsigned>(threads) : std::max(1u, std::thread::hardware_concurrency());
  c.processor.max_queue = static_cast<std::size_t>(v.get_int("check-queue"));
  c.check_device = v.get_string("check-device");

  c.accounting.scheme = *parse_scheme(v.get_string("scheme"));
  c.accounting.fee_basis_points = static_cast<std::uint32_t>(std::llround(v.get_number("fee") * 100.0));
  c.accounting.pplns_window_factor = v.get_number("pplns-window");
  c.payout.keystore = v.get_string("payout.keystore");
  c.payout.passphrase_file = v.get_string("payout.passphrase-file");
  c.payout.minimum = static_cast<std::uint64_t>(std::llround(v.get_number("payout.minimum") * 1e8));
  c.payout.interval = ms(v.get_number("payout.interval"));
  c.payout.max_outputs = static_cast<std::size_t>(v.get_int("payout.max-outputs"));

  c.data_dir = v.get_string("data-dir");
  if (c.data_dir.empty()) c.data_dir = default_pool_data_dir();
  c.database = v.get_string("database");
  if (c.database.empty()) c.database = "sqlite:" + c.data_dir + "/pool.db";
  c.share_retention = ms(v.get_number("share-retention") * 86400.0);

  c.api.enabled = v.get_bool("api.enabled");
  c.api.bind_address = v.get_string("api.bind");
  c.api.port = static_cast<std::uint16_t>(v.get_int("api.port"));
  c.api.bearer_token = v.get_string("api.token");
  c.print_seconds = v.get_number("print-time");
  c.duration_seconds = v.get_number("duration");
  c.log_level = v.get_string("log-level");
  return c;
}

}  // namespace tensority::pool
