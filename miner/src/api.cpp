#include "tensority/miner/api.hpp"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

namespace tensority::miner {
namespace {

using json = nlohmann::json;

json rate_json(const std::optional<double>& r) { return r ? json(*r) : json(nullptr); }

json rates_json(const Rates& r) { return {{"10s", rate_json(r.s10)}, {"60s", rate_json(r.s60)}, {"15m", rate_json(r.m15)}}; }

json shares_json(const ShareCounts& s) {
  return {{"accepted", s.accepted}, {"rejected", s.rejected}, {"stale", s.stale},        {"lost", s.lost},
          {"dropped", s.dropped},   {"hardware_errors", s.hardware_errors}, {"blocks", s.blocks}};
}

json device_json(const DeviceStats& d) {
  return {{"id", d.id},         {"name", d.name},   {"backend", d.backend},           {"kernel", d.kernel},
          {"parallelism", d.parallelism}, {"state", d.state}, {"hashrate", rates_json(d.rates)}, {"hashes", d.hashes},
          {"shares", shares_json(d.shares)}};
}

}  // namespace

std::string summary_json(const MinerStats& s, const std::string& version) {
  json upstreams = json::array();
  for (const auto& u : s.upstreams) {
    upstreams.push_back({{"url", u.name}, {"connected", u.connected}, {"failures", u.failures}, {"connects", u.connects},
                         {"last_error", u.last_error}});
  }
  json j{{"version", version},
         {"uptime_seconds", s.uptime_seconds},
         {"hashrate", rates_json(s.rates)},
         {"hashes", s.hashes},
         {"shares", shares_json(s.shares)},
         {"upstream", s.upstream.empty() ? json(nullptr) : json(s.upstream)},
         {"connected", s.connected},
         {"height", s.height},
         {"job_id", s.job_id},
         {"share_difficulty", s.share_difficulty},
         {"upstreams", upstreams},
         {"devices", s.devices.size()}};
  return j.dump();
}

std::string devices_json(const MinerStats& s) {
  json list = json::array();
  for (const auto& d : s.devices) list.push_back(device_json(d));
  return json{{"devices", list}}.dump();
}

std::string prometheus_text(const MinerStats& s) {
  std::string out;
  auto family = [&](const char* name, const char* type, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  family("tensority_miner_hashrate", "gauge", "Hashes per second over the window; absent until the window has data.");
  auto rates = [&](const std::string& labels, const Rates& r) {
    const std::pair<const char*, std::optional<double>> windows[] = {{"10s", r.s10}, {"60s", r.s60}, {"15m", r.m15}};
    for (const auto& [w, v] : windows) {
      if (v) out += fmt::format("tensority_miner_hashrate{{{}window=\"{}\"}} {}\n", labels, w, *v);
    }
  };
  rates("", s.rates);
  for (const auto& d : s.devices) rates(fmt::format("device=\"{}\",", net::prometheus_label(d.id)), d.rates);
  family("tensority_miner_hashes_total", "counter", "Hashes computed.");
  out += fmt::format("tensority_miner_hashes_total {}\n", s.hashes);
  for (const auto& d : s.devices) {
    out += fmt::format("tensority_miner_hashes_total{{device=\"{}\"}} {}\n", net::prometheus_label(d.id), d.hashes);
  }
  family("tensority_miner_shares_total", "counter", "Solutions by verdict (dropped: stale before sending).");
  auto shares = [&](const std::string& labels, const ShareCounts& c) {
    const std::pair<const char*, std::uint64_t> kinds[] = {{"accepted", c.accepted}, {"rejected", c.rejected},
                                                           {"stale", c.stale},       {"lost", c.lost},
                                                           {"dropped", c.dropped}};
    for (const auto& [k, v] : kinds) out += fmt::format("tensority_miner_shares_total{{{}result=\"{}\"}} {}\n", labels, k, v);
  };
  shares("", s.shares);
  for (const auto& d : s.devices) shares(fmt::format("device=\"{}\",", net::prometheus_label(d.id)), d.shares);
  family("tensority_miner_hardware_errors_total", "counter", "Device results the host could not reproduce.");
  out += fmt::format("tensority_miner_hardware_errors_total {}\n", s.shares.hardware_errors);
  for (const auto& d : s.devices) {
    out += fmt::format("tensority_miner_hardware_errors_total{{device=\"{}\"}} {}\n", net::prometheus_label(d.id),
                       d.shares.hardware_errors);
  }
  family("tensority_miner_blocks_total", "counter", "Blocks found and accepted (solo).");
  out += fmt::format("tensority_miner_blocks_total {}\n", s.shares.blocks);
  family("tensority_miner_connected", "gauge", "1 while an upstream is in use.");
  out += fmt::format("tensority_miner_connected {}\n", s.connected ? 1 : 0);
  family("tensority_miner_share_difficulty", "gauge", "Difficulty of the current job's share target (0 when solo).");
  out += fmt::format("tensority_miner_share_difficulty {}\n", s.share_difficulty);
  family("tensority_miner_height", "gauge", "Height of the block being mined.");
  out += fmt::format("tensority_miner_height {}\n", s.height);
  family("tensority_miner_uptime_seconds", "gauge", "Seconds since mining started.");
  out += fmt::format("tensority_miner_uptime_seconds {}\n", s.uptime_seconds);
  return out;
}

MinerApi::MinerApi(const Miner& miner, ApiOptions options) : miner_(miner), options_(std::move(options)) {}

MinerApi::~MinerApi() { stop(); }

core::Result<std::uint16_t> MinerApi::start() {
  net::HttpServerOptions o;
  o.bind_address = options_.bind_address;
  o.port = options_.port;
  o.bearer_token = options_.bearer_token;
  o.threads = 1;
  o.max_body_bytes = 4096;  // read-only: no request needs a body
  server_ = std::make_unique<net::HttpServer>(o);
  auto json_reply = [](std::string body) {
    net::HttpResponse r;
    r.body = std::move(body);
    return r;
  };
  server_->route("GET", "/v1/summary", [this, json_reply](const net::HttpRequest&, net::Respond respond) {
    respond(json_reply(summary_json(miner_.stats(), options_.version)));
  });
  server_->route("GET", "/v1/devices", [this, json_reply](const net::HttpRequest&, net::Respond respond) {
    respond(json_reply(devices_json(miner_.stats())));
  });
  server_->route("GET", "/metrics", [this](const net::HttpRequest&, net::Respond respond) {
    net::HttpResponse r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = prometheus_text(miner_.stats());
    respond(std::move(r));
  });
  return server_->start();
}

void MinerApi::stop() {
  if (server_) server_->stop();
}

}  // namespace tensority::miner
