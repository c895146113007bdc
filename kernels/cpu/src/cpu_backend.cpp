#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "tensority/core/hex.hpp"
#include "tensority/core/retarget.hpp"
#include "tensority/hwdetect/cpu.hpp"
#include "tensority/hwdetect/topology.hpp"
#include "tensority/kernels/cpu/backend.hpp"
#include "tensority/kernels/cpu/variant.hpp"
#include "tensority/kernels/hal/known_answers.hpp"

namespace tensority::kernels::cpu {
namespace {

using hal::Status;
using hal::StatusCode;

class CpuWorker final : public hal::Worker {
 public:
  CpuWorker(hal::DeviceInfo info, std::shared_ptr<CacheStore> store, const Variant& variant,
            unsigned threads, bool pin, int nice)
      : info_(std::move(info)), store_(std::move(store)), variant_(variant) {
    for (unsigned i = 0; i < threads; ++i) pool_.emplace_back([this, i, pin, nice] { thread_main(i, pin, nice); });
    std::unique_lock lock(mutex_);
    cv_done_.wait(lock, [&] { return started_ == pool_.size(); });
    if (!bind_failure_.empty()) info_.notes.push_back("threads not pinned: " + bind_failure_);
    if (!nice_failure_.empty()) info_.notes.push_back("threads keep their priority: " + nice_failure_);
    if (nice > 0 && nice_failure_.empty()) info_.notes.push_back("threads at nice " + std::to_string(nice));
  }

  ~CpuWorker() override {
    {
      std::lock_guard lock(mutex_);
      quit_ = true;
    }
    cv_work_.notify_all();
    for (auto& t : pool_) t.join();
  }

  const hal::DeviceInfo& device() const override { return info_; }
  std::string kernel_name() const override { return std::string(variant_.name); }
  unsigned parallelism() const override { return static_cast<unsigned>(pool_.size()); }
  std::uint64_t hashes_total() const override { return hashes_total_.load(std::memory_order_relaxed); }

  Status prepare(const core::Hash& seed) override {
    if (cache_ && cache_->seed() == seed) return Status::success();
    try {
      cache_ = store_->get(seed);
    } catch (const std::bad_alloc&) {
      return Status::error(StatusCode::out_of_memory, "cannot allocate the 16 MiB cache");
    }
    return Status::success();
  }

  Status search(const hal::SearchJob& job, std::uint64_t nonce_start, std::uint64_t count,
                const core::Target256& target, hal::SearchResult& out,
                const std::atomic<bool>* stop) override {
    if (!cache_ || cache_->seed() != job.seed) {
      return Status::error(StatusCode::not_prepared, "search for seed " + core::to_hex(job.seed) +
                                                         " before prepare()");
    }
    std::unique_lock lock(mutex_);
    task_ = Task{&job, nonce_start, count, &target, stop, cache_.get()};
    next_.store(0, std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    found_any_.store(false, std::memory_order_relaxed);
    found_.clear();
    finished_ = 0;
    ++generation_;
    cv_work_.notify_all();
    cv_done_.wait(lock, [&] { return finished_ == pool_.size(); });
    out.hashes_done += done_.load(std::memory_order_relaxed);
    out.found.insert(out.found.end(), found_.begin(), found_.end());
    return Status::success();
  }

  Status hash(const core::Hash& block_id, core::Hash& result) override {
    if (!cache_) return Status::error(StatusCode::not_prepared, "hash() before prepare()");
    std::lock_guard lock(hash_mutex_);
    if (!hash_scratch_) hash_scratch_ = std::make_unique<Scratch>();
    result = cpu::hash(variant_, *cache_, block_id, *hash_scratch_);
    return Status::success();
  }

  Status self_test(std::string& report) override {
    // Known answers need their own seeds; whatever happens, leave the worker prepared for
    // the seed it had before.
    auto keep = cache_;
    Status st = hal::run_known_answers(*this, report);
    cache_ = keep;
    return st;
  }

 private:
  struct Task {
    const hal::SearchJob* job = nullptr;
    std::uint64_t start = 0;
    std::uint64_t count = 0;
    const core::Target256* target = nullptr;
    const std::atomic<bool>* stop = nullptr;
    const PreparedCache* cache = nullptr;
  };

  void thread_main(unsigned index, bool pin, int nice) {
    // Linux keeps a nice value per thread: only the hashing threads yield, not the caller's
    // network and API threads.
    if (nice != 0 && setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), nice) != 0) {
      std::lock_guard lock(mutex_);
      nice_failure_ = std::strerror(errno);
    }
    if (pin) {
      const unsigned cores = hwdetect::allowed_core_count();
      const auto bound = hwdetect::bind_current_thread_to_core(index % std::max(cores, 1u));
      if (!bound) {
        std::lock_guard lock(mutex_);
        bind_failure_ = bound.reason;
      }
    }
    // Allocated after pinning so first touch puts it on this core's NUMA node.
    auto scratch = std::make_unique<Scratch>();
    std::uint64_t seen = 0;
    std::unique_lock lock(mutex_);
    ++started_;
    cv_done_.notify_all();
    for (;;) {
      cv_work_.wait(lock, [&] { return quit_ || generation_ != seen; });
      if (quit_) return;
      seen = generation_;
      const Task task = task_;
      lock.unlock();
      run(task, *scratch);
      lock.lock();
      if (++finished_ == pool_.size()) cv_done_.notify_all();
    }
  }

  void run(const Task& task, Scratch& scratch) {
    for (;;) {
      if (task.stop != nullptr && task.stop->load(std::memory_order_relaxed)) return;
      if (task.job->return_on_find && found_any_.load(std::memory_order_relaxed)) return;
      const std::uint64_t i = next_.fetch_add(1, std::memory_order_relaxed);
      if (i >= task.count) return;
      const std::uint64_t nonce = task.start + i;  // wraps at 2^64 by design
      const core::Hash id = task.job->block_id(nonce);
      const core::Hash result = cpu::hash(variant_, *task.cache, id, scratch);
      done_.fetch_add(1, std::memory_order_relaxed);
      hashes_total_.fetch_add(1, std::memory_order_relaxed);
      if (task.target->met_by(result)) {
        std::lock_guard lock(mutex_);
        found_.push_back(hal::Found{nonce, id, result});
        found_any_.store(true, std::memory_order_relaxed);
      }
    }
  }

  hal::DeviceInfo info_;
  std::shared_ptr<CacheStore> store_;
  const Variant& variant_;
  std::shared_ptr<const PreparedCache> cache_;

  std::mutex mutex_;
  std::condition_variable cv_work_;
  std::condition_variable cv_done_;
  std::vector<std::thread> pool_;
  std::size_t started_ = 0;
  std::size_t finished_ = 0;
  std::uint64_t generation_ = 0;
  bool quit_ = false;
  std::string bind_failure_;
  std::string nice_failure_;
  Task task_;
  std::vector<hal::Found> found_;
  std::atomic<std::uint64_t> next_{0};
  std::atomic<std::uint64_t> done_{0};
  std::atomic<bool> found_any_{false};  // with return_on_find: no thread claims another nonce
  std::atomic<std::uint64_t> hashes_total_{0};

  std::mutex hash_mutex_;
  std::unique_ptr<Scratch> hash_scratch_;
};

class CpuDevice final : public hal::Device {
 public:
  explicit CpuDevice(std::shared_ptr<CacheStore> store) : store_(std::move(store)) {
    const auto identity = hwdetect::detect_cpu_identity();
    features_ = hwdetect::detect_cpu_features();
    const auto topo = hwdetect::detect_topology();
    info_.backend = "cpu";
    info_.id = "cpu:0";
    info_.stable_id = "cpu:" + identity.brand;
    info_.name = identity.brand.empty() ? "CPU" : identity.brand;
    info_.vendor = identity.vendor;
    for (const auto& node : topo.numa_nodes) info_.memory_bytes += node.memory_bytes;
    info_.compute_units = hwdetect::allowed_core_count();
    const Variant& best = best_variant(features_);
    info_.kernel = std::string(best.name);
    for (const Variant* v : all_variants()) {
      if (v == &best) break;
      info_.notes.push_back(std::string(v->name) + " disabled: CPU lacks " + std::string(v->isa));
    }
    for (const auto& note : topo.notes) info_.notes.push_back(note);
  }

  const hal::DeviceInfo& info() const override { return info_; }

  Status create_worker(const hal::WorkerOptions& options, std::unique_ptr<hal::Worker>& out) override {
    const Variant* variant = &best_variant(features_);
    if (!options.kernel.empty()) {
      variant = find_variant(options.kernel, features_);
      if (variant == nullptr) {
        std::string names;
        for (const Variant* v : all_variants()) {
          if (v->supported(features_)) names += (names.empty() ? "" : ", ") + std::string(v->name);
        }
        return Status::error(StatusCode::unsupported,
                             "kernel '" + options.kernel + "' is unknown or unsupported here (available: " +
                                 names + ")");
      }
    }
    const unsigned threads = options.threads == 0 ? info_.compute_units : options.threads;
    if (threads > 4096) return Status::error(StatusCode::invalid_argument, "too many threads");
    hal::DeviceInfo info = info_;
    info.kernel = std::string(variant->name);
    out = std::make_unique<CpuWorker>(std::move(info), store_, *variant, threads, options.pin_threads,
                                     options.nice);
    return Status::success();
  }

 private:
  std::shared_ptr<CacheStore> store_;
  hwdetect::CpuFeatures features_;
  hal::DeviceInfo info_;
};

class CpuBackend final : public hal::Backend {
 public:
  explicit CpuBackend(std::shared_ptr<CacheStore> store)
      : device_(std::make_shared<CpuDevice>(std::move(store))) {}
  std::string_view name() const override { return "cpu"; }
  std::vector<std::shared_ptr<hal::Device>> devices() override { return {device_}; }

 private:
  std::shared_ptr<CpuDevice> device_;
};

}  // namespace

std::unique_ptr<hal::Backend> make_backend(std::shared_ptr<CacheStore> store) {
  return std::make_unique<CpuBackend>(std::move(store));
}

std::shared_ptr<CacheStore> shared_cache_store() {
  static const auto store = std::make_shared<CacheStore>(4);
  return store;
}

hal::HostHasher make_host_hasher(std::shared_ptr<CacheStore> store) {
  const Variant& variant = best_variant(hwdetect::detect_cpu_features());
  return [store = std::move(store), &variant](const core::Hash& seed, const core::Hash& block_id) {
    thread_local std::unique_ptr<Scratch> scratch = std::make_unique<Scratch>();
    return cpu::hash(variant, *store->get(seed), block_id, *scratch);
  };
}

}  // namespace tensority::kernels::cpu

void tensority_register_backend_cpu(tensority::kernels::hal::Registry& registry) {
  registry.add("cpu", [] { return tensority::kernels::cpu::make_backend(tensority::kernels::cpu::shared_cache_store()); });
}
