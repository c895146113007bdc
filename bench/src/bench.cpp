#include "tensority/bench/bench.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <random>
#include <thread>

#include "tensority/core/block_header.hpp"
#include "tensority/core/retarget.hpp"
#include "tensority/core/target.hpp"

namespace tensority::bench {
namespace {

using Clock = std::chrono::steady_clock;
using kernels::hal::Device;
using kernels::hal::SearchJob;
using kernels::hal::SearchResult;
using kernels::hal::Worker;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

struct Run {
  std::unique_ptr<Worker> worker;
  DeviceResult result;
  SearchResult search;
  kernels::hal::Status status;
  std::thread thread;
};

}  // namespace

core::Result<Result> run(kernels::hal::Registry& registry, const Options& options,
                         const ProgressFn& progress) {
  using R = core::Result<Result>;
  if (!(options.seconds > 0) || options.seconds > 86400) {
    return R::failure("--seconds must be in (0, 86400]");
  }
  auto selected = registry.select(options.device);
  if (!selected) return R::failure(selected.error());

  // A header shaped like mainnet's, a fresh random seed (so the reported prepare time is a
  // real cache build, not a hit left by the self-test) and a random first nonce.
  std::mt19937_64 rng(std::random_device{}());
  core::BlockHeader header;
  header.version = 1;
  header.timestamp = 1524549600;
  header.bits = 0x1e00000000011b68ULL;
  core::Hash seed{};
  for (auto& b : seed) b = static_cast<std::uint8_t>(rng());
  const SearchJob job = SearchJob::from_header(header, seed);
  core::Target256 never;
  never.never = true;

  std::vector<std::unique_ptr<Run>> runs;
  std::vector<DeviceResult> disabled;
  const bool single = selected->size() == 1;
  for (const auto& device : *selected) {
    auto r = std::make_unique<Run>();
    kernels::hal::WorkerOptions wo;
    wo.threads = options.threads;
    wo.kernel = options.kernel;
    wo.pin_threads = options.pin_threads;
    wo.batch = options.batch;
    auto disable = [&](const std::string& why) {
      DeviceResult d;
      d.device_id = device->info().id;
      d.device_name = device->info().name;
      d.backend = device->info().backend;
      d.error = why;
      disabled.push_back(std::move(d));
    };
    auto st = device->create_worker(wo, r->worker);
    if (!st) {
      if (single) return R::failure(device->info().id + ": " + st.message);
      disable(st.message);
      continue;
    }
    std::string report;
    st = r->worker->self_test(report);
    if (!st) {
      if (single) return R::failure(device->info().id + ": self-test failed: " + st.message);
      disable("self-test failed: " + st.message);
      continue;
    }
    const auto t0 = Clock::now();
    st = r->worker->prepare(job.seed);
    if (!st) {
      if (single) return R::failure(device->info().id + ": prepare failed: " + st.message);
      disable("prepare failed: " + st.message);
      continue;
    }
    const auto& info = r->worker->device();
    r->result.prepare_ms = seconds_since(t0) * 1e3;
    r->result.device_id = info.id;
    r->result.device_name = info.name;
    r->result.backend = info.backend;
    r->result.kernel = r->worker->kernel_name();
    r->result.threads = r->worker->parallelism();
    r->result.self_test = report;
    r->result.notes = info.notes;
    runs.push_back(std::move(r));
  }
  if (runs.empty()) {
    std::string why;
    for (const auto& d : disabled) why += (why.empty() ? "" : "; ") + d.device_id + ": " + d.error;
    return R::failure("no device could run (" + why + ")");
  }

  // Counters are read before any search starts so progress counts every hash of the run.
  std::vector<std::uint64_t> base;
  for (auto& r : runs) base.push_back(r->worker->hashes_total());
  std::atomic<bool> stop{false};
  const auto start = Clock::now();
  for (auto& r : runs) {
    r->thread = std::thread([&job, &never, &stop, run = r.get(), nonce = rng()] {
      run->status = run->worker->search(job, nonce, ~std::uint64_t{0}, never, run->search, &stop);
    });
  }
  while (seconds_since(start) < options.seconds) {
    std::this_thread::sleep_for(std::chrono::milliseconds(
        static_cast<long>(std::min(250.0, std::max(1.0, (options.seconds - seconds_since(start)) * 1e3)))));
    if (progress) {
      for (std::size_t i = 0; i < runs.size(); ++i) {
        Progress p;
        p.device_id = runs[i]->result.device_id;
        p.elapsed_seconds = seconds_since(start);
        p.target_seconds = options.seconds;
        p.hashes = runs[i]->worker->hashes_total() - base[i];
        p.hashes_per_second = static_cast<double>(p.hashes) / p.elapsed_seconds;
        progress(p);
      }
    }
  }
  stop.store(true);
  Result out;
  for (auto& r : runs) {
    r->thread.join();
    // Notes a worker adds while it runs (a batch tuned on first use) belong in the report.
    r->result.notes = r->worker->device().notes;
    // Every thread finishes the hash it holds when stop is raised; those hashes and the
    // time they took both count.
    r->result.seconds = seconds_since(start);
    r->result.hashes = r->search.hashes_done;
    r->result.hashes_per_second = static_cast<double>(r->result.hashes) / r->result.seconds;
    if (!r->status) {
      // A device that fails mid-run (launch error, lost GPU) stops; the rest still count.
      if (runs.size() == 1) return R::failure(r->result.device_id + ": search failed: " + r->status.message);
      r->result.error = "stopped: " + r->status.message;
      out.devices.push_back(r->result);
      continue;
    }
    out.hashes_per_second += r->result.hashes_per_second;
    out.devices.push_back(r->result);
  }
  if (std::none_of(out.devices.begin(), out.devices.end(), [](const DeviceResult& d) { return d.error.empty(); })) {
    return R::failure("every device stopped: " + out.devices.front().device_id + ": " + out.devices.front().error);
  }
  for (auto& d : disabled) out.devices.push_back(std::move(d));
  return out;
}

}  // namespace tensority::bench
