#include "tensority/pool/api.hpp"

#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "tensority/pool/pool.hpp"

namespace tensority::pool {
namespace {

using json = nlohmann::json;

constexpr std::size_t kMaxLimit = 1000;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string decode_component(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

json hashrates(const Hashrates& h) { return {{"1m", h.m1}, {"5m", h.m5}, {"1h", h.h1}, {"1d", h.d1}}; }

json block_json(const BlockRecord& b) {
  return {{"hash", b.hash},
          {"height", b.height},
          {"status", block_status_name(b.status)},
          {"finder", b.finder_address},
          {"worker", b.finder_worker},
          {"reward", b.reward},
          {"network_difficulty", b.network_difficulty},
          {"scheme", b.scheme},
          {"found_ms", b.found_ms},
          {"updated_ms", b.updated_ms},
          {"note", b.note},
          {"instance", b.instance}};
}

json payout_json(const Payout& p) {
  json items = json::array();
  for (const auto& i : p.items) items.push_back({{"address", i.address}, {"amount", i.amount}});
  return {{"id", p.id},
          {"status", payout_status_name(p.status)},
          {"tx_id", p.tx_id.empty() ? json(nullptr) : json(p.tx_id)},
          {"fee", p.fee},
          {"total", p.total},
          {"created_ms", p.created_ms},
          {"updated_ms", p.updated_ms},
          {"confirmed_height", p.confirmed_height ? json(*p.confirmed_height) : json(nullptr)},
          {"note", p.note},
          {"items", items}};
}

json balance_json(const std::optional<Balance>& b) {
  if (!b) return {{"balance", 0}, {"immature", 0}, {"paid", 0}};
  return {{"balance", b->balance}, {"immature", b->immature}, {"paid", b->paid}};
}

net::HttpResponse ok(const json& j) {
  net::HttpResponse r;
  r.body = j.dump();
  return r;
}

net::HttpResponse error(unsigned status, const std::string& message) {
  net::HttpResponse r;
  r.status = status;
  r.body = json{{"error", message}}.dump();
  return r;
}

std::size_t limit_of(const std::map<std::string, std::string, std::less<>>& q, std::size_t fallback) {
  auto it = q.find("limit");
  if (it == q.end()) return fallback;
  try {
    const long long v = std::stoll(it->second);
    return v < 1 ? 1 : std::min<std::size_t>(static_cast<std::size_t>(v), kMaxLimit);
  } catch (...) {
    return fallback;
  }
}

std::string metrics_text(const PoolStats& s, const NetworkStats& n, const std::vector<WorkerStats>& workers) {
  std::string out;
  auto family = [&](const char* name, const char* type, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  auto value = [&](const char* name, double v, const std::string& labels = "") {
    out += labels.empty() ? fmt::format("{} {}\n", name, v) : fmt::format("{}{{{}}} {}\n", name, labels, v);
  };
  family("tensority_pool_hashrate", "gauge", "Pool hashrate from accepted share difficulty, hashes per second.");
  const std::pair<const char*, double> windows[] = {
      {"1m", s.hashrate.m1}, {"5m", s.hashrate.m5}, {"1h", s.hashrate.h1}, {"1d", s.hashrate.d1}};
  for (const auto& [w, v] : windows) value("tensority_pool_hashrate", v, fmt::format("window=\"{}\"", w));
  family("tensority_pool_sessions", "gauge", "Open stratum sessions.");
  value("tensority_pool_sessions", static_cast<double>(s.server.sessions));
  family("tensority_pool_logged_in_sessions", "gauge", "Stratum sessions that logged in.");
  value("tensority_pool_logged_in_sessions", static_cast<double>(s.server.logged_in));
  family("tensority_pool_miners", "gauge", "Addresses with shares in the last hour.");
  value("tensority_pool_miners", static_cast<double>(s.miners));
  family("tensority_pool_workers", "gauge", "Workers with shares in the last hour.");
  value("tensority_pool_workers", static_cast<double>(s.workers));
  family("tensority_pool_submits_total", "counter", "Submits by verdict since start.");
  const std::pair<const char*, std::uint64_t> verdicts[] = {{"accepted", s.server.accepted},
                                                            {"low_difficulty", s.server.low_difficulty},
                                                            {"duplicate", s.server.duplicate},
                                                            {"wrong_result", s.server.wrong_result},
                                                            {"stale", s.server.stale},
                                                            {"unknown_job", s.server.unknown_job},
                                                            {"rate_limited", s.server.rate_limited},
                                                            {"busy", s.server.busy}};
  for (const auto& [k, v] : verdicts)
    value("tensority_pool_submits_total", static_cast<double>(v), fmt::format("verdict=\"{}\"", k));
  family("tensority_pool_malformed_lines_total", "counter", "Lines that were not valid requests.");
  value("tensority_pool_malformed_lines_total", static_cast<double>(s.server.malformed));
  family("tensority_pool_connections_total", "counter", "Connections accepted since start.");
  value("tensority_pool_connections_total", static_cast<double>(s.server.connections));
  family("tensority_pool_refused_connections_total", "counter", "Connections refused (bans, limits).");
  value("tensority_pool_refused_connections_total", static_cast<double>(s.server.refused_connections));
  family("tensority_pool_bans_total", "counter", "Bans since start.");
  value("tensority_pool_bans_total", static_cast<double>(s.server.bans));
  family("tensority_pool_jobs_sent_total", "counter", "Jobs sent to sessions.");
  value("tensority_pool_jobs_sent_total", static_cast<double>(s.server.jobs_sent));
  family("tensority_pool_broadcast_seconds", "gauge",
         "Time the last new-block broadcast took to reach every session's queue.");
  value("tensority_pool_broadcast_seconds", s.server.last_broadcast_ms / 1000.0);
  family("tensority_pool_share_checks_total", "counter", "Tensority share checks done.");
  value("tensority_pool_share_checks_total", static_cast<double>(s.checks));
  family("tensority_pool_share_check_queue", "gauge", "Shares waiting to be checked.");
  value("tensority_pool_share_check_queue", static_cast<double>(s.check_queue));
  family("tensority_pool_blocks_total", "counter", "Blocks this process sent to the node, by the node's verdict.");
  value("tensority_pool_blocks_total", static_cast<double>(s.blocks_submitted), "verdict=\"accepted\"");
  value("tensority_pool_blocks_total", static_cast<double>(s.blocks_refused), "verdict=\"refused\"");
  family("tensority_pool_network_difficulty", "gauge", "Difficulty of the block being mined.");
  value("tensority_pool_network_difficulty", static_cast<double>(n.difficulty));
  family("tensority_pool_height", "gauge", "Height of the block being mined.");
  value("tensority_pool_height", static_cast<double>(n.height));
  family("tensority_pool_worker_hashrate", "gauge", "Worker hashrate over 5 minutes, hashes per second.");
  for (const auto& w : workers) {
    value(
        "tensority_pool_worker_hashrate", w.hashrate.m5,
        fmt::format("address=\"{}\",worker=\"{}\"", net::prometheus_label(w.address), net::prometheus_label(w.worker)));
  }
  return out;
}

}  // namespace

std::map<std::string, std::string, std::less<>> parse_query(std::string_view target) {
  std::map<std::string, std::string, std::less<>> out;
  const auto q = target.find('?');
  if (q == std::string_view::npos) return out;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    out[decode_component(pair.substr(0, eq))] =
        eq == std::string_view::npos ? "" : decode_component(pair.substr(eq + 1));
  }
  return out;
}

PoolApi::PoolApi(Pool& pool, ApiConfig config, std::string version)
    : pool_(pool), config_(std::move(config)), version_(std::move(version)) {}

PoolApi::~PoolApi() { stop(); }

core::Result<std::uint16_t> PoolApi::start() {
  net::HttpServerOptions o;
  o.bind_address = config_.bind_address;
  o.port = config_.port;
  o.bearer_token = config_.bearer_token;
  o.threads = 1;
  server_ = std::make_unique<net::HttpServer>(o);
  auto& pool = pool_;
  const std::string version = version_;

  server_->route("GET", "/v1/pool", [&pool](const net::HttpRequest&, net::Respond respond) {
    const PoolStats s = pool.stats();
    const auto& c = s.server;
    json j{{"version", s.version},
           {"scheme", s.scheme},
           {"fee_percent", s.fee_percent},
           {"instance", s.instance},
           {"store", s.store_backend},
           {"maintainer", s.maintainer},
           {"uptime_seconds", s.uptime_seconds},
           {"hashrate", hashrates(s.hashrate)},
           {"miners", s.miners},
           {"workers", s.workers},
           {"sessions", c.sessions},
           {"logged_in", c.logged_in},
           {"shares",
            {{"accepted", c.accepted},
             {"low_difficulty", c.low_difficulty},
             {"duplicate", c.duplicate},
             {"wrong_result", c.wrong_result},
             {"stale", c.stale},
             {"unknown_job", c.unknown_job},
             {"rate_limited", c.rate_limited},
             {"busy", c.busy},
             {"out_of_range", c.out_of_range}}},
           {"malformed_lines", c.malformed},
           {"bans", c.bans},
           {"connections", c.connections},
           {"refused_connections", c.refused_connections},
           {"jobs_sent", c.jobs_sent},
           {"last_broadcast_ms", c.last_broadcast_ms},
           {"share_checks", s.checks},
           {"share_check_queue", s.check_queue},
           {"check_device", s.check_device},
           {"blocks", {{"submitted", s.blocks_submitted}, {"refused", s.blocks_refused}}}};
    respond(ok(j));
  });

  server_->route("GET", "/v1/network", [&pool](const net::HttpRequest&, net::Respond respond) {
    const NetworkStats n = pool.network();
    respond(ok({{"network", n.network},
                {"height", n.height},
                {"bits", n.bits},
                {"difficulty", n.difficulty},
                {"hashrate", n.hashrate},
                {"reward_estimate", n.reward_estimate},
                {"previous_block_hash", n.previous_block_hash},
                {"work_age_ms", n.work_age_ms}}));
  });

  server_->route("GET", "/v1/blocks", [&pool](const net::HttpRequest& req, net::Respond respond) {
    const auto q = parse_query(req.target);
    std::optional<BlockStatus> status;
    if (auto it = q.find("status"); it != q.end() && !it->second.empty()) {
      status = parse_block_status(it->second);
      if (!status) return respond(error(400, "status: one of submitted, rejected, immature, orphaned, matured"));
    }
    auto blocks = pool.blocks(status, limit_of(q, 50));
    if (!blocks) return respond(error(503, blocks.error()));
    json list = json::array();
    for (const auto& b : *blocks) list.push_back(block_json(b));
    respond(ok({{"blocks", list}}));
  });

  server_->route("GET", "/v1/miners", [&pool](const net::HttpRequest&, net::Respond respond) {
    const auto workers = pool.workers(std::nullopt);
    std::map<std::string, json> by;
    for (const auto& w : workers) {
      auto& m = by[w.address];
      if (m.is_null()) m = {{"address", w.address}, {"hashrate", hashrates({})}, {"workers", 0}, {"online", 0}};
      for (const char* k : {"1m", "5m", "1h", "1d"}) {
        const double add = std::string(k) == "1m"   ? w.hashrate.m1
                           : std::string(k) == "5m" ? w.hashrate.m5
                           : std::string(k) == "1h" ? w.hashrate.h1
                                                    : w.hashrate.d1;
        m["hashrate"][k] = m["hashrate"][k].get<double>() + add;
      }
      m["workers"] = m["workers"].get<int>() + 1;
      if (w.online) m["online"] = m["online"].get<int>() + 1;
    }
    json list = json::array();
    for (auto& [a, m] : by) list.push_back(std::move(m));
    respond(ok({{"miners", list}}));
  });

  server_->route("GET", "/v1/miner", [&pool](const net::HttpRequest& req, net::Respond respond) {
    const auto q = parse_query(req.target);
    auto it = q.find("address");
    if (it == q.end() || it->second.empty()) return respond(error(400, "give ?address=ADDRESS"));
    const std::string& address = it->second;
    auto balance = pool.balance(address);
    if (!balance) return respond(error(503, balance.error()));
    auto payments = pool.payouts(address, limit_of(q, 20));
    if (!payments) return respond(error(503, payments.error()));
    json workers = json::array();
    Hashrates total;
    for (const auto& w : pool.workers(address)) {
      total.m1 += w.hashrate.m1, total.m5 += w.hashrate.m5, total.h1 += w.hashrate.h1, total.d1 += w.hashrate.d1;
      workers.push_back({{"worker", w.worker},
                         {"hashrate", hashrates(w.hashrate)},
                         {"shares_1d", w.shares_1d},
                         {"last_share_ms", w.last_share_ms},
                         {"online", w.online},
                         {"difficulty", w.difficulty}});
    }
    json pays = json::array();
    for (const auto& p : *payments) {
      std::uint64_t amount = 0;
      for (const auto& i : p.items) {
        if (i.address == address) amount += i.amount;
      }
      pays.push_back({{"payout", p.id},
                      {"status", payout_status_name(p.status)},
                      {"tx_id", p.tx_id.empty() ? json(nullptr) : json(p.tx_id)},
                      {"amount", amount},
                      {"created_ms", p.created_ms},
                      {"confirmed_height", p.confirmed_height ? json(*p.confirmed_height) : json(nullptr)}});
    }
    json j = balance_json(*balance);
    j["address"] = address;
    j["hashrate"] = hashrates(total);
    j["workers"] = workers;
    j["payments"] = pays;
    respond(ok(j));
  });

  server_->route("GET", "/v1/payments", [&pool](const net::HttpRequest& req, net::Respond respond) {
    const auto q = parse_query(req.target);
    std::optional<std::string> address;
    if (auto it = q.find("address"); it != q.end() && !it->second.empty()) address = it->second;
    auto payouts = pool.payouts(address ? std::optional<std::string_view>(*address) : std::nullopt, limit_of(q, 50));
    if (!payouts) return respond(error(503, payouts.error()));
    json list = json::array();
    for (const auto& p : *payouts) list.push_back(payout_json(p));
    respond(ok({{"payments", list}}));
  });

  server_->route("GET", "/metrics", [&pool](const net::HttpRequest&, net::Respond respond) {
    net::HttpResponse r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = metrics_text(pool.stats(), pool.network(), pool.workers(std::nullopt));
    respond(std::move(r));
  });
  (void)version;
  return server_->start();
}

void PoolApi::stop() {
  if (server_) server_->stop();
}

std::uint16_t PoolApi::port() const { return server_ ? server_->port() : 0; }

}  // namespace tensority::pool
