// The CUDA backend's host side: devices through the runtime API, one worker per device
// with its own stream and buffers, and the search loop that launches ids -> lanes ->
// finish and copies back only the nonces that meet the target.
#include "cuda_backend.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <limits>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "launch.hpp"
#include "tensority/core/matrix_cache.hpp"
#include "tensority/hwdetect/pci.hpp"
#include "tensority/kernels/hal/known_answers.hpp"
#include "tensority/kernels/hal/tuning.hpp"

namespace tensority::kernels::cuda {
namespace {

using hal::Status;
using hal::StatusCode;

std::string describe(cudaError_t e) {
  return std::string(cudaGetErrorName(e)) + " (" + cudaGetErrorString(e) + ")";
}

Status cuda_status(const std::string& where, cudaError_t e) {
  const StatusCode code = e == cudaErrorMemoryAllocation ? StatusCode::out_of_memory : StatusCode::device_error;
  return Status::error(code, where + ": " + describe(e));
}

const LanesKernelInfo* find_kernel(std::string_view name) {
  std::size_t n = 0;
  const LanesKernelInfo* all = lanes_kernels(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (name == all[i].name) return &all[i];
  }
  return nullptr;
}

bool kernel_fits(const LanesKernelInfo& k, const cudaDeviceProp& p) {
  return p.major * 10 + p.minor >= k.min_compute_capability &&
         k.dynamic_smem_bytes + 64 <= static_cast<std::size_t>(p.sharedMemPerBlockOptin);
}

const LanesKernelInfo* best_kernel(const cudaDeviceProp& p) {
  std::size_t n = 0;
  const LanesKernelInfo* all = lanes_kernels(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (kernel_fits(all[i], p)) return &all[i];
  }
  return nullptr;
}

std::string kernel_names(const cudaDeviceProp& p) {
  std::string out;
  std::size_t n = 0;
  const LanesKernelInfo* all = lanes_kernels(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (kernel_fits(all[i], p)) out += (out.empty() ? "" : ", ") + std::string(all[i].name);
  }
  return out.empty() ? "none" : out;
}

// Device memory that frees itself; errors on free are ignored (the context may be gone).
template <typename T>
class DeviceArray {
 public:
  DeviceArray() = default;
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  ~DeviceArray() { reset(); }
  cudaError_t allocate(std::size_t count) {
    reset();
    void* p = nullptr;
    const cudaError_t e = cudaMalloc(&p, count * sizeof(T));
    if (e == cudaSuccess) {
      ptr_ = static_cast<T*>(p);
      count_ = count;
    }
    return e;
  }
  void reset() {
    if (ptr_ != nullptr) cudaFree(ptr_);
    ptr_ = nullptr;
    count_ = 0;
  }
  T* get() const { return ptr_; }
  std::size_t size() const { return count_; }

 private:
  T* ptr_ = nullptr;
  std::size_t count_ = 0;
};

struct SeedSlot {
  core::Hash seed{};
  bool valid = false;
  std::uint64_t last_use = 0;
  DeviceArray<std::int8_t> cache;
};

class CudaWorker final : public hal::Worker {
 public:
  CudaWorker(hal::DeviceInfo info, int ordinal, const LanesKernelInfo& kernel, unsigned ctas_per_sm,
             unsigned sms)
      : info_(std::move(info)), ordinal_(ordinal), kernel_(kernel), wave_(std::max(1u, ctas_per_sm * sms /
                                                                                      (4 * kernel.ctas_per_lane))) {}

  ~CudaWorker() override {
    cudaSetDevice(ordinal_);
    for (auto& slot : slots_) slot.cache.reset();
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
  }

  Status init(const hal::WorkerOptions& options) {
    if (auto e = cudaSetDevice(ordinal_); e != cudaSuccess) return cuda_status("cudaSetDevice", e);
    if (auto e = configure_kernels(); e != cudaSuccess) return cuda_status("configure kernels", e);
    if (auto e = cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking); e != cudaSuccess) {
      return cuda_status("cudaStreamCreate", e);
    }
    if (options.batch > 0) {
      info_.notes.push_back("batch " + std::to_string(options.batch) + " nonces per launch (from options)");
      return resize(options.batch);
    }
    if (!options.autotune) {
      info_.notes.push_back("batch " + std::to_string(4 * wave_) + " nonces per launch (default, autotune off)");
      return resize(4 * wave_);
    }
    auto& store = hal::TuningStore::process_default();
    const std::string key = hal::tuning_key(info_, kernel_.name);
    if (auto saved = store.load(key); saved && saved->contains("batch") && (*saved)["batch"].is_number_unsigned()) {
      const std::uint64_t batch = (*saved)["batch"].get<std::uint64_t>();
      if (batch > 0 && batch <= max_batch()) {
        info_.notes.push_back("batch " + std::to_string(batch) + " nonces per launch (tuned earlier, " +
                              store.file().string() + ")");
        return resize(batch);
      }
    }
    return autotune(store, key);
  }

  const hal::DeviceInfo& device() const override { return info_; }
  std::string kernel_name() const override { return kernel_.name; }
  unsigned parallelism() const override { return static_cast<unsigned>(batch_); }
  std::uint64_t hashes_total() const override { return hashes_total_.load(std::memory_order_relaxed); }

  Status prepare(const core::Hash& seed) override {
    if (!lost_.empty()) return lost();
    if (auto e = cudaSetDevice(ordinal_); e != cudaSuccess) return cuda_status("cudaSetDevice", e);
    ++clock_;
    for (auto& slot : slots_) {
      if (slot.valid && slot.seed == seed) {
        slot.last_use = clock_;
        current_ = &slot;
        return Status::success();
      }
    }
    // Two seeds stay resident so the next epoch can be prepared before it starts.
    SeedSlot* victim = nullptr;
    for (auto& slot : slots_) {
      if (&slot == current_) continue;
      if (victim == nullptr || !slot.valid || (victim->valid && slot.last_use < victim->last_use)) victim = &slot;
    }
    if (victim->cache.get() == nullptr) {
      if (auto e = victim->cache.allocate(kCacheBytes); e != cudaSuccess) return cuda_status("cudaMalloc cache", e);
    }
    std::vector<std::int8_t> host(kCacheBytes);
    core::build_cache(seed, host);
    victim->valid = false;
    if (auto e = cudaMemcpy(victim->cache.get(), host.data(), kCacheBytes, cudaMemcpyHostToDevice); e != cudaSuccess) {
      return fail("upload cache", e);
    }
    victim->seed = seed;
    victim->valid = true;
    victim->last_use = clock_;
    current_ = victim;
    return Status::success();
  }

  Status search(const hal::SearchJob& job, std::uint64_t nonce_start, std::uint64_t count,
                const core::Target256& target, hal::SearchResult& out, const std::atomic<bool>* stop) override {
    if (!lost_.empty()) return lost();
    if (current_ == nullptr || current_->seed != job.seed) {
      if (Status st = prepare(job.seed); !st) return st;
    }
    if (auto e = cudaSetDevice(ordinal_); e != cudaSuccess) return cuda_status("cudaSetDevice", e);
    IdBody body{};
    std::copy(job.id_body.begin(), job.id_body.end(), body.bytes);
    const LaunchTarget t = to_launch(target);
    std::uint64_t done = 0;
    while (done < count && !(stop != nullptr && stop->load(std::memory_order_relaxed))) {
      const auto n = static_cast<std::uint32_t>(std::min<std::uint64_t>(batch_, count - done));
      const std::uint64_t first = nonce_start + done;
      std::vector<FoundEntry> found;
      if (Status st = run_batch(&body, first, n, t, found); !st) return st;
      for (const FoundEntry& f : found) {
        hal::Found hit;
        hit.nonce = first + f.index;
        hit.block_id = job.block_id(hit.nonce);
        std::copy(std::begin(f.result), std::end(f.result), hit.result.begin());
        out.found.push_back(hit);
      }
      done += n;
      out.hashes_done += n;
      hashes_total_.fetch_add(n, std::memory_order_relaxed);
      if (job.return_on_find && !found.empty()) break;
    }
    return Status::success();
  }

  Status hash(const core::Hash& block_id, core::Hash& result) override {
    if (!lost_.empty()) return lost();
    if (current_ == nullptr) return Status::error(StatusCode::not_prepared, "hash before prepare");
    if (auto e = cudaSetDevice(ordinal_); e != cudaSuccess) return cuda_status("cudaSetDevice", e);
    if (auto e = cudaMemcpyAsync(ids_.get(), block_id.data(), 32, cudaMemcpyHostToDevice, stream_); e != cudaSuccess) {
      return fail("copy block id", e);
    }
    LaunchTarget always{};
    for (auto& l : always.limbs) l = ~std::uint64_t{0};
    std::vector<FoundEntry> found;
    if (Status st = run_batch(nullptr, 0, 1, always, found); !st) return st;
    if (found.size() != 1) {
      return Status::error(StatusCode::device_error, "finish kernel reported " + std::to_string(found.size()) +
                                                         " results for one hash");
    }
    std::copy(std::begin(found[0].result), std::end(found[0].result), result.begin());
    return Status::success();
  }

  Status self_test(std::string& report) override {
    SeedSlot* keep = current_;
    Status st = hal::run_known_answers(*this, report);
    if (keep != nullptr && keep->valid) current_ = keep;
    return st;
  }

 private:
  static LaunchTarget to_launch(const core::Target256& target) {
    LaunchTarget t{};
    for (int i = 0; i < 4; ++i) t.limbs[i] = target.limbs[static_cast<std::size_t>(i)];
    t.never = target.never ? 1 : 0;
    return t;
  }

  std::uint64_t max_batch() const {
    std::size_t free_bytes = 0, total = 0;
    if (cudaMemGetInfo(&free_bytes, &total) != cudaSuccess) free_bytes = 1ULL << 30;
    // Lane states dominate (256 KiB a nonce); leave most of the memory to others.
    const std::uint64_t by_memory = (free_bytes / 2) / (4 * kLaneStateBytes + 256);
    return std::max<std::uint64_t>(1, std::min<std::uint64_t>(by_memory, 1u << 16));
  }

  Status resize(std::uint64_t batch) {
    if (batch == 0 || batch > std::numeric_limits<std::uint32_t>::max()) {
      return Status::error(StatusCode::invalid_argument, "batch out of range");
    }
    if (batch > max_batch() && batch != batch_) {
      return Status::error(StatusCode::out_of_memory, "batch " + std::to_string(batch) + " needs " +
                                                          std::to_string(batch * 4 * kLaneStateBytes >> 20) +
                                                          " MiB of lane states; at most " +
                                                          std::to_string(max_batch()) + " fit");
    }
    cudaError_t e = ids_.allocate(batch * 32);
    if (e == cudaSuccess) e = lane_index_.allocate(batch * 4 * 32);
    if (e == cudaSuccess) e = lane_out_.allocate(batch * 4 * kLaneStateBytes);
    if (e == cudaSuccess) e = found_count_.allocate(1);
    if (e == cudaSuccess) e = found_.allocate(batch);
    if (e != cudaSuccess) return cuda_status("cudaMalloc for batch " + std::to_string(batch), e);
    batch_ = batch;
    return Status::success();
  }

  // One launch sequence. body == nullptr hashes the ID already in ids_[0..n).
  Status run_batch(const IdBody* body, std::uint64_t first, std::uint32_t n, const LaunchTarget& target,
                   std::vector<FoundEntry>& found) {
    DeviceBuffers b;
    b.cache = current_->cache.get();
    b.ids = ids_.get();
    b.lane_index = lane_index_.get();
    b.lane_out = lane_out_.get();
    b.found_count = found_count_.get();
    b.found = found_.get();
    b.found_capacity = static_cast<std::uint32_t>(found_.size());
    if (auto e = cudaMemsetAsync(b.found_count, 0, sizeof(std::uint32_t), stream_); e != cudaSuccess) {
      return fail("memset", e);
    }
    if (auto e = launch_ids(body, first, n, b, stream_); e != cudaSuccess) return fail("ids kernel launch", e);
    if (auto e = launch_lanes(kernel_.kernel, n, b, stream_); e != cudaSuccess) {
      return fail(std::string(kernel_.name) + " launch", e);
    }
    if (auto e = launch_finish(n, target, b, stream_); e != cudaSuccess) return fail("finish kernel launch", e);
    std::uint32_t hits = 0;
    if (auto e = cudaMemcpyAsync(&hits, b.found_count, sizeof hits, cudaMemcpyDeviceToHost, stream_);
        e != cudaSuccess) {
      return fail("copy found count", e);
    }
    if (auto e = cudaStreamSynchronize(stream_); e != cudaSuccess) return fail("kernels", e);
    if (hits > b.found_capacity) {
      return fail_with("finish kernel reported " + std::to_string(hits) + " hits for " + std::to_string(n) + " nonces");
    }
    found.resize(hits);
    if (hits > 0) {
      if (auto e = cudaMemcpy(found.data(), b.found, hits * sizeof(FoundEntry), cudaMemcpyDeviceToHost);
          e != cudaSuccess) {
        return fail("copy found", e);
      }
    }
    for (const FoundEntry& f : found) {
      if (f.index >= n) return fail_with("finish kernel reported an index outside the launch");
    }
    return Status::success();
  }

  // Any failure on the device stops this worker for good: after a launch error or a lost
  // device the context cannot be trusted, and the caller moves on without it.
  Status fail(const std::string& where, cudaError_t e) { return fail_with(where + ": " + describe(e)); }
  Status fail_with(const std::string& why) {
    lost_ = info_.id + " stopped: " + why;
    return lost();
  }
  Status lost() const { return Status::error(StatusCode::device_error, lost_); }

  Status autotune(hal::TuningStore& store, const std::string& key) {
    // Time real launches on a random seed and header; whole waves of CTAs keep every
    // multiprocessor busy, so only multiples of a wave are tried.
    std::mt19937_64 rng(std::random_device{}());
    core::Hash seed{};
    for (auto& b : seed) b = static_cast<std::uint8_t>(rng());
    if (Status st = resize(wave_); !st) return st;
    if (Status st = prepare(seed); !st) return st;
    IdBody body{};
    for (auto& b : body.bytes) b = static_cast<std::uint8_t>(rng());
    LaunchTarget never{};
    never.never = 1;
    const std::uint64_t limit = std::min<std::uint64_t>(max_batch(), wave_ * 64);
    auto measure = [&](std::uint64_t batch) -> core::Result<double> {
      if (Status st = resize(batch); !st) return core::Result<double>::failure(st.message);
      std::vector<FoundEntry> found;
      if (Status st = run_batch(&body, 0, static_cast<std::uint32_t>(batch), never, found); !st) {
        return core::Result<double>::failure(st.message);
      }
      const auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < 2; ++i) {
        if (Status st = run_batch(&body, batch * static_cast<std::uint64_t>(i + 1), static_cast<std::uint32_t>(batch),
                                  never, found);
            !st) {
          return core::Result<double>::failure(st.message);
        }
      }
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      return 2.0 * static_cast<double>(batch) / s;
    };
    auto tuned = hal::autotune_batch(wave_, std::max(wave_, limit), measure);
    if (!tuned) return Status::error(StatusCode::device_error, tuned.error());
    if (Status st = resize(tuned->batch); !st) return st;
    nlohmann::json entry = tuned->to_json();
    entry["kernel"] = kernel_.name;
    entry["device"] = info_.name;
    if (Status st = store.save(key, entry); !st) info_.notes.push_back("tuned batch not saved: " + st.message);
    char rate[32];
    std::snprintf(rate, sizeof rate, "%.0f", tuned->hashes_per_second);
    info_.notes.push_back("batch " + std::to_string(tuned->batch) + " nonces per launch (autotuned now: " + rate +
                          " H/s; saved in " + store.file().string() + ")");
    return Status::success();
  }

  hal::DeviceInfo info_;
  int ordinal_;
  const LanesKernelInfo& kernel_;
  std::uint64_t wave_;  // nonces whose CTAs fill the device once
  cudaStream_t stream_ = nullptr;
  std::array<SeedSlot, 2> slots_;
  SeedSlot* current_ = nullptr;
  std::uint64_t clock_ = 0;
  std::uint64_t batch_ = 0;
  DeviceArray<std::uint8_t> ids_, lane_index_, lane_out_;
  DeviceArray<std::uint32_t> found_count_;
  DeviceArray<FoundEntry> found_;
  std::string lost_;
  std::atomic<std::uint64_t> hashes_total_{0};
};

class CudaDevice final : public hal::Device {
 public:
  CudaDevice(int ordinal, const cudaDeviceProp& prop, hal::DeviceInfo info)
      : ordinal_(ordinal), prop_(prop), info_(std::move(info)) {}

  const hal::DeviceInfo& info() const override { return info_; }

  Status create_worker(const hal::WorkerOptions& options, std::unique_ptr<hal::Worker>& out) override {
    const LanesKernelInfo* kernel = options.kernel.empty() ? best_kernel(prop_) : find_kernel(options.kernel);
    if (kernel == nullptr || !kernel_fits(*kernel, prop_)) {
      return Status::error(StatusCode::unsupported,
                           (options.kernel.empty() ? std::string("no kernel") : "kernel '" + options.kernel + "' is unknown or") +
                               " unsupported on " + info_.id + " (available: " + kernel_names(prop_) + ")");
    }
    if (auto e = cudaSetDevice(ordinal_); e != cudaSuccess) return cuda_status("cudaSetDevice", e);
    if (auto e = configure_kernels(); e != cudaSuccess) return cuda_status("configure kernels", e);
    int ctas = 0;
    if (auto e = lanes_ctas_per_sm(kernel->kernel, ctas); e != cudaSuccess) return cuda_status("occupancy", e);
    if (ctas <= 0) {
      return Status::error(StatusCode::unsupported, std::string(kernel->name) + " does not fit on " + info_.id);
    }
    hal::DeviceInfo info = info_;
    info.kernel = kernel->name;
    auto worker = std::make_unique<CudaWorker>(std::move(info), ordinal_, *kernel, static_cast<unsigned>(ctas),
                                               static_cast<unsigned>(prop_.multiProcessorCount));
    if (Status st = worker->init(options); !st) return st;
    out = std::move(worker);
    return Status::success();
  }

 private:
  int ordinal_;
  cudaDeviceProp prop_;
  hal::DeviceInfo info_;
};

class CudaBackend final : public hal::Backend {
 public:
  CudaBackend(std::vector<std::shared_ptr<hal::Device>> devices, std::vector<std::string> notes)
      : devices_(std::move(devices)), notes_(std::move(notes)) {}
  std::string_view name() const override { return "cuda"; }
  std::vector<std::shared_ptr<hal::Device>> devices() override { return devices_; }
  std::vector<std::string> notes() const override { return notes_; }

 private:
  std::vector<std::shared_ptr<hal::Device>> devices_;
  std::vector<std::string> notes_;
};

}  // namespace

std::unique_ptr<hal::Backend> make_backend(std::string& error) {
  int count = 0;
  if (const cudaError_t e = cudaGetDeviceCount(&count); e != cudaSuccess) {
    // The runtime reports a missing driver as an "insufficient" one; say which it is.
    void* driver_lib = ::dlopen("libcuda.so.1", RTLD_LAZY | RTLD_NOLOAD);
    if (driver_lib == nullptr) driver_lib = ::dlopen("libcuda.so.1", RTLD_LAZY);
    if (driver_lib == nullptr) {
      error = "CUDA is off: no NVIDIA driver here (libcuda.so.1 not found)";
    } else {
      int runtime = 0, driver = 0;
      cudaRuntimeGetVersion(&runtime);
      cudaDriverGetVersion(&driver);
      error = "CUDA is off: " + describe(e) + " (driver supports CUDA " + std::to_string(driver / 1000) + "." +
              std::to_string((driver % 1000) / 10) + ", this build needs " + std::to_string(runtime / 1000) + "." +
              std::to_string((runtime % 1000) / 10) + ")";
    }
    return nullptr;
  }
  int driver = 0;
  cudaDriverGetVersion(&driver);
  const std::string driver_text = std::to_string(driver / 1000) + "." + std::to_string((driver % 1000) / 10);
  std::vector<std::shared_ptr<hal::Device>> devices;
  std::vector<std::string> notes;
  if (count == 0) notes.push_back("no CUDA devices");
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (const cudaError_t e = cudaGetDeviceProperties(&prop, i); e != cudaSuccess) {
      notes.push_back("cuda:" + std::to_string(i) + " skipped: " + describe(e));
      continue;
    }
    hal::DeviceInfo info;
    info.backend = "cuda";
    info.id = "cuda:" + std::to_string(i);
    // The spelling hwdetect and the OpenCL backend use, so one GPU has one stable id.
    info.stable_id = hwdetect::format_pci_bus_id({static_cast<std::uint32_t>(prop.pciDomainID),
                                                  static_cast<std::uint8_t>(prop.pciBusID),
                                                  static_cast<std::uint8_t>(prop.pciDeviceID), 0});
    info.name = prop.name;
    info.vendor = "NVIDIA";
    info.driver_version = driver_text;
    info.memory_bytes = prop.totalGlobalMem;
    info.compute_units = static_cast<unsigned>(prop.multiProcessorCount);
    const LanesKernelInfo* kernel = best_kernel(prop);
    info.kernel = kernel != nullptr ? kernel->name : "";
    info.notes.push_back("compute capability " + std::to_string(prop.major) + "." + std::to_string(prop.minor) +
                         ", PCI " + info.stable_id + ", " + std::to_string(prop.sharedMemPerBlockOptin / 1024) +
                         " KiB shared memory per block");
    if (kernel == nullptr) {
      info.notes.push_back("unsupported: every kernel needs compute capability 6.1 or newer");
    }
    devices.push_back(std::make_shared<CudaDevice>(i, prop, std::move(info)));
  }
  return std::make_unique<CudaBackend>(std::move(devices), std::move(notes));
}

}  // namespace tensority::kernels::cuda
