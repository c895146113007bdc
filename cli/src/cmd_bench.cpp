// tensority bench: sustained hash rate per device and in total.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "tensority/bench/bench.hpp"

namespace tensority::cli {
namespace {

struct BenchArgs {
  bench::Options options;
  bool json = false;
  bool quiet = false;
};

int run_bench(const BenchArgs& a) {
  const bool tty = isatty(STDERR_FILENO) != 0;
  auto last_line = std::chrono::steady_clock::now();
  bool drew = false;
  auto progress = [&](const bench::Progress& p) {
    if (a.quiet) return;
    const std::string line = fmt::format("[bench] {}  {:5.1f}/{:.0f} s  {} hashes  {:.2f} H/s", p.device_id,
                                         p.elapsed_seconds, p.target_seconds, p.hashes, p.hashes_per_second);
    if (tty) {
      fmt::print(stderr, "\r{}\033[K", line);
      drew = true;
    } else if (std::chrono::steady_clock::now() - last_line >= std::chrono::seconds(5)) {
      // Logs and CI get a line every few seconds instead of carriage returns.
      fmt::print(stderr, "{}\n", line);
      last_line = std::chrono::steady_clock::now();
    }
  };
  if (auto selected = kernels::hal::builtin_registry().select(a.options.device); !selected) {
    throw UsageError("--device: " + selected.error());
  }
  auto result = bench::run(kernels::hal::builtin_registry(), a.options, progress);
  if (drew) fmt::print(stderr, "\n");
  if (!result) {
    const std::string& e = result.error();
    if (e.find("unknown or unsupported") != std::string::npos) throw UsageError("--kernel: " + e);
    throw std::runtime_error(e);
  }
  if (a.json) {
    nlohmann::json devices = nlohmann::json::array();
    for (const auto& d : result->devices) {
      if (!d.error.empty()) {
        devices.push_back({{"device", d.device_id}, {"name", d.device_name}, {"backend", d.backend}, {"error", d.error}});
        continue;
      }
      devices.push_back({{"device", d.device_id}, {"name", d.device_name}, {"backend", d.backend},
                         {"kernel", d.kernel}, {"threads", d.threads}, {"hashes", d.hashes},
                         {"seconds", d.seconds}, {"hashes_per_second", d.hashes_per_second},
                         {"prepare_ms", d.prepare_ms}, {"self_test", d.self_test}, {"notes", d.notes}});
    }
    const auto& first = *std::find_if(result->devices.begin(), result->devices.end(),
                                      [](const bench::DeviceResult& d) { return d.error.empty(); });
    nlohmann::json j{{"hashes_per_second", result->hashes_per_second},
                     {"threads", first.threads},
                     {"device", result->devices.size() == 1 ? first.device_id : a.options.device},
                     {"kernel", first.kernel},
                     {"devices", devices}};
    std::puts(j.dump(2).c_str());
    return kExitOk;
  }
  for (const auto& d : result->devices) {
    fmt::print("{:<8} {}\n", d.device_id, d.device_name);
    if (!d.error.empty()) {
      fmt::print("         disabled: {}\n", d.error);
      continue;
    }
    const bool cpu = d.backend == "cpu";
    fmt::print("         kernel {}, {} {}, cache {:.1f} ms, self-test: {}\n", d.kernel, d.threads,
               cpu ? "threads" : "nonces per launch", d.prepare_ms, d.self_test);
    for (const auto& n : d.notes) fmt::print("         note: {}\n", n);
    if (cpu) {
      fmt::print("         {} hashes in {:.2f} s = {:.2f} H/s ({:.2f} H/s per thread)\n", d.hashes, d.seconds,
                 d.hashes_per_second, d.hashes_per_second / d.threads);
    } else {
      fmt::print("         {} hashes in {:.2f} s = {:.2f} H/s\n", d.hashes, d.seconds, d.hashes_per_second);
    }
  }
  fmt::print("total    {:.2f} H/s\n", result->hashes_per_second);
  return kExitOk;
}

}  // namespace

Runner add_bench(CLI::App& app) {
  auto args = std::make_shared<BenchArgs>();
  auto* sub = app.add_subcommand("bench", "Measure the sustained Tensority hash rate of devices");
  sub->add_option("--device", args->options.device,
                  "a backend (cpu, cuda, opencl), a device id (cpu:0, cuda:N, opencl:P:D), or all")
      ->capture_default_str();
  sub->add_option("--threads", args->options.threads, "threads per CPU device (default: one per allowed core)")
      ->check(CLI::Range(0u, 4096u));
  sub->add_option("--seconds", args->options.seconds, "how long to hash")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 86400.0));
  sub->add_option("--batch", args->options.batch, "GPU nonces per launch (default: autotuned on first use)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 20));
  sub->add_option("--kernel", args->options.kernel, "kernel variant (default: fastest supported)");
  sub->add_flag("--no-pin", [args](std::int64_t) { args->options.pin_threads = false; },
                "do not pin threads to cores");
  sub->add_flag("--json", args->json, "print one JSON object on stdout");
  sub->add_flag("--quiet", args->quiet, "no progress line");
  return [args] { return run_bench(*args); };
}

}  // namespace tensority::cli
