// tensority mine: solo mining against a node, pool mining over stratum, or a synthetic
// benchmark, on every selected device at once.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

#include <fmt/core.h>

#include "commands.hpp"
#include "tensority/config/schema.hpp"
#include "tensority/kernels/cpu/backend.hpp"
#include "tensority/kernels/hal/registry.hpp"
#include "tensority/miner/api.hpp"
#include "tensority/miner/benchmark_session.hpp"
#include "tensority/miner/miner.hpp"
#include "tensority/miner/options.hpp"

namespace tensority::cli {
namespace {

using miner::LogLevel;

struct MineArgs {
  config::Schema schema = miner::mine_schema();
  std::unique_ptr<config::CliBinding> binding;
  bool example_config = false;
};

int level_rank(LogLevel l) { return static_cast<int>(l); }

LogLevel parse_level(const std::string& s) {
  if (s == "debug") return LogLevel::debug;
  if (s == "warn") return LogLevel::warn;
  if (s == "error") return LogLevel::error;
  return LogLevel::info;
}

std::string status_line(const miner::MinerStats& s) {
  const auto& c = s.shares;
  std::string line = fmt::format("speed 10s/60s/15m {} {} {}", miner::format_rate(s.rates.s10),
                                 miner::format_rate(s.rates.s60), miner::format_rate(s.rates.m15));
  if (s.share_difficulty > 0) {
    line += fmt::format(" | accepted {} rejected {} stale {} hw {} | diff {:.0f}", c.accepted, c.rejected, c.stale,
                        c.hardware_errors, s.share_difficulty);
  } else {
    line += fmt::format(" | blocks {} rejected {} stale {} hw {}", c.blocks, c.rejected, c.stale, c.hardware_errors);
  }
  if (s.connected) {
    line += fmt::format(" | height {} | {}", s.height, s.upstream);
  } else {
    line += " | no upstream";
  }
  return line;
}

void print_summary(const miner::MinerStats& s) {
  const auto& c = s.shares;
  fmt::print(stderr, "summary: {:.0f} s, {} hashes, {} average, 60s {}\n", s.uptime_seconds, s.hashes,
             miner::format_rate(s.uptime_seconds > 0 ? std::optional<double>(static_cast<double>(s.hashes) / s.uptime_seconds)
                                                     : std::nullopt),
             miner::format_rate(s.rates.s60));
  fmt::print(stderr, "summary: accepted {} (blocks {}), rejected {}, stale {}, lost {}, dropped before sending {}, "
             "hardware errors {}\n", c.accepted, c.blocks, c.rejected, c.stale, c.lost, c.dropped, c.hardware_errors);
  for (const auto& d : s.devices) {
    fmt::print(stderr, "summary: {:<10} {} hashes, 60s {}, accepted {}, rejected {}, hw {}, {}\n", d.id, d.hashes,
               miner::format_rate(d.rates.s60), d.shares.accepted, d.shares.rejected, d.shares.hardware_errors, d.state);
  }
}

int run_mine(MineArgs& a) {
  if (a.example_config) {
    fmt::print("{}", config::yaml_example(a.schema));
    return kExitOk;
  }
  auto values = a.binding->resolve();
  if (!values) throw UsageError(values.error());
  auto cfg = miner::mine_config(*values);
  if (!cfg) throw UsageError(cfg.error());
  miner::MineConfig c = std::move(cfg).value();

  const LogLevel least = parse_level(c.log_level);
  auto log_mutex = std::make_shared<std::mutex>();
  miner::LogFn log = [least, log_mutex](LogLevel level, std::string_view category, std::string_view message) {
    if (level_rank(level) < level_rank(least)) return;
    static constexpr const char* kTag[] = {"debug", "", "warning: ", "error: "};
    std::lock_guard lock(*log_mutex);
    fmt::print(stderr, "{} {:<6} {}{}\n", clock_stamp(), category, kTag[level_rank(level)], message);
    std::fflush(stderr);
  };

  const StopSignals stop;  // before any thread starts: they all inherit the blocked signals

  const std::string agent = std::string("tensority/") + TENSORITY_VERSION;
  std::vector<miner::UpstreamSpec> upstreams;
  miner::Miner* miner_ptr = nullptr;
  if (c.benchmark) {
    miner::BenchmarkOptions b;
    b.hashrate = [&miner_ptr]() -> std::optional<double> {
      if (miner_ptr == nullptr) return std::nullopt;
      const auto s = miner_ptr->stats();
      return s.rates.s60 ? s.rates.s60 : s.rates.s10;
    };
    const auto host = kernels::cpu::make_host_hasher(kernels::cpu::shared_cache_store());
    upstreams.push_back({"benchmark", [b, host] { return std::make_unique<miner::BenchmarkSession>(b, host); }});
  } else {
    upstreams = miner::make_upstreams(c, agent);
  }

  miner::Miner m(c.miner, upstreams, kernels::hal::builtin_registry(), log);
  miner_ptr = &m;
  if (auto started = m.start_devices(); !started) {
    if (started.error().rfind("--device", 0) == 0) throw UsageError(started.error());
    throw std::runtime_error(started.error());
  }
  std::unique_ptr<miner::MinerApi> api;
  if (c.api_enabled) {
    c.api.version = TENSORITY_VERSION;
    api = std::make_unique<miner::MinerApi>(m, c.api);
    auto port = api->start();
    if (!port) {
      throw std::runtime_error("api: " + port.error() + " (choose another --api-port, 0 for any, or --no-api)");
    }
    log(LogLevel::info, "api", fmt::format("listening on http://{}:{}/v1/summary{}", c.api.bind_address, *port,
                                           c.api.bearer_token.empty() ? "" : " (bearer token required)"));
  }
  m.start_mining();

  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto next_status = start + std::chrono::milliseconds(static_cast<long>(c.print_seconds * 1000));
  const bool timed = c.duration_seconds > 0;
  const auto end = start + std::chrono::milliseconds(static_cast<long long>(c.duration_seconds * 1000));
  std::string why = "stopped";
  int code = kExitOk;
  for (;;) {
    const auto now = Clock::now();
    if (timed && now >= end) {
      why = fmt::format("--duration {} s reached", c.duration_seconds);
      break;
    }
    if (m.running_devices() == 0) {
      why = "every device failed";
      code = kExitFailure;
      break;
    }
    if (now >= next_status) {
      log(LogLevel::info, "miner", status_line(m.stats()));
      next_status += std::chrono::milliseconds(static_cast<long>(c.print_seconds * 1000));
    }
    auto wake = std::min(next_status, now + std::chrono::milliseconds(500));
    if (timed) wake = std::min(wake, end);
    if (std::string s = stop.wait_until(wake); !s.empty()) {
      why = std::move(s);
      break;
    }
  }
  log(LogLevel::info, "miner", why + ", stopping");
  m.stop();
  if (api) api->stop();
  print_summary(m.stats());
  return code;
}

}  // namespace

Runner add_mine(CLI::App& app) {
  auto args = std::make_shared<MineArgs>();
  auto* sub = app.add_subcommand(
      "mine",
      "Mine on a pool (--pool URL --user ADDRESS.WORKER), solo on a node (--node URL), or synthetic work "
      "(--benchmark), on every selected device; settings also from a YAML file (--config FILE)");
  args->binding = std::make_unique<config::CliBinding>(args->schema, *sub);
  sub->add_flag("--example-config", args->example_config, "print a commented YAML config with every setting and exit");
  return [args] { return run_mine(*args); };
}

}  // namespace tensority::cli
