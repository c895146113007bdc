// tensority pool: a stratum server for Antminer B3s, GPU rigs and `tensority mine`, with share
// checks, vardiff, PPLNS/PPS/SOLO accounting, payouts, SQLite/PostgreSQL storage and an API.
#include <fmt/core.h>
#include <signal.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>

#include "commands.hpp"
#include "tensority/config/schema.hpp"
#include "tensority/pool/options.hpp"
#include "tensority/pool/pool.hpp"

namespace tensority::cli {
namespace {

using pool::LogLevel;

struct PoolArgs {
  config::Schema schema = pool::pool_schema();
  std::unique_ptr<config::CliBinding> binding;
  bool example_config = false;
};

LogLevel parse_level(const std::string& s) {
  if (s == "debug") return LogLevel::debug;
  if (s == "warn") return LogLevel::warn;
  if (s == "error") return LogLevel::error;
  return LogLevel::info;
}

std::string rate(double h) {
  if (h >= 1e9) return fmt::format("{:.2f} GH/s", h / 1e9);
  if (h >= 1e6) return fmt::format("{:.2f} MH/s", h / 1e6);
  if (h >= 1e3) return fmt::format("{:.2f} kH/s", h / 1e3);
  return fmt::format("{:.1f} H/s", h);
}

std::string status_line(pool::Pool& p) {
  const auto s = p.stats();
  const auto n = p.network();
  const auto& c = s.server;
  return fmt::format(
      "sessions {} | hashrate 1m/5m/1h {} {} {} | accepted {} rejected {} stale {} | blocks {} | "
      "height {} diff {}",
      c.logged_in, rate(s.hashrate.m1), rate(s.hashrate.m5), rate(s.hashrate.h1), c.accepted,
      c.low_difficulty + c.duplicate + c.wrong_result + c.unknown_job, c.stale, s.blocks_submitted, n.height,
      n.difficulty);
}

int run_pool(PoolArgs& a) {
  if (a.example_config) {
    fmt::print("{}", config::yaml_example(a.schema));
    return kExitOk;
  }
  auto values = a.binding->resolve();
  if (!values) throw UsageError(values.error());
  auto cfg = pool::pool_config(*values);
  if (!cfg) throw UsageError(cfg.error());
  pool::PoolConfig c = std::move(cfg).value();

  const LogLevel least = parse_level(c.log_level);
  auto log_mutex = std::make_shared<std::mutex>();
  pool::PoolLog log = [least, log_mutex](LogLevel level, std::string_view category, std::string_view message) {
    if (static_cast<int>(level) < static_cast<int>(least)) return;
    static constexpr const char* kTag[] = {"debug ", "", "warning: ", "error: "};
    std::lock_guard lock(*log_mutex);
    fmt::print(stderr, "{} {:<7} {}{}\n", clock_stamp(), category, kTag[static_cast<int>(level)], message);
    std::fflush(stderr);
  };

  const StopSignals stop;  // before any thread starts: they all inherit the blocked signals
  signal(SIGPIPE, SIG_IGN);

  // Every session is a descriptor: take all the process may have.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  pool::Pool p(c, log, TENSORITY_VERSION);
  if (auto started = p.start(); !started) {
    p.stop();
    throw std::runtime_error(started.error());
  }
  // Said once the pool runs, so that a failed start stays one line.
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < c.server.max_sessions + 64) {
    log(LogLevel::warn, "pool",
        fmt::format("this process may open {} files: at most about {} sessions (raise ulimit -n for "
                    "--max-sessions {})",
                    files.rlim_cur, files.rlim_cur - 64, c.server.max_sessions));
  }

  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto every = std::chrono::milliseconds(static_cast<long long>(c.print_seconds * 1000));
  auto next_status = start + every;
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
    if (auto f = p.failure()) {
      why = *f;
      code = kExitFailure;
      break;
    }
    if (now >= next_status) {
      log(LogLevel::info, "pool", status_line(p));
      next_status += every;
    }
    auto wake = std::min(next_status, now + std::chrono::milliseconds(500));
    if (timed) wake = std::min(wake, end);
    if (std::string s = stop.wait_until(wake); !s.empty()) {
      why = std::move(s);
      break;
    }
  }
  log(LogLevel::info, "pool", why + ", stopping");
  log(LogLevel::info, "pool", status_line(p));
  p.stop();
  return code;
}

}  // namespace

Runner add_pool(CLI::App& app) {
  auto args = std::make_shared<PoolArgs>();
  auto* sub = app.add_subcommand(
      "pool",
      "Run a stratum pool for B3 ASICs, GPU rigs and `tensority mine`: --node URL (a node with --mining-address set "
      "to the pool wallet), --stratum-port N, --api-port N, --data-dir DIR; settings also from a YAML file (--config "
      "FILE)");
  args->binding = std::make_unique<config::CliBinding>(args->schema, *sub);
  sub->add_flag("--example-config", args->example_config, "print a commented YAML config with every setting and exit");
  return [args] { return run_pool(*args); };
}

}  // namespace tensority::cli
