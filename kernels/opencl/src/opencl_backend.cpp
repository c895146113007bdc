#include "tensority/kernels/opencl/backend.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <mutex>
#include <new>
#include <optional>
#include <sstream>
#include <string_view>

#include "cl_util.hpp"
#include "program_cache.hpp"
#include "tensority/core/hex.hpp"
#include "tensority/core/matrix_cache.hpp"
#include "tensority/core/tensority.hpp"
#include "tensority/kernels/hal/known_answers.hpp"
#include "tensority/kernels/hal/tuning.hpp"
#include "variants.hpp"

namespace tensority::kernels::opencl {

std::string_view embedded_source(std::string_view name);  // generated from cl/*.cl

namespace {

using hal::Status;
using hal::StatusCode;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kLaneStateBytes = core::kMatrixBytes;                 // 64 KiB per lane
constexpr std::size_t kItemStateBytes = core::kLanes * kLaneStateBytes;     // 256 KiB per nonce
constexpr std::size_t kFoundWords = 9;                                      // nonce, id[4], result[4]
constexpr std::uint64_t kMaxBatch = std::uint64_t{1} << 20;
constexpr unsigned kIdsGroup = 64;
constexpr unsigned kFinishGroup = 64;  // reqd_work_group_size in common.cl
// Autotune bounds: a trial runs launches for at least this long, and the whole search stops
// starting trials once this much time has gone (PoCL hashes are slow; GPUs finish early).
constexpr double kTrialSeconds = 0.3;
constexpr double kTuneBudgetSeconds = 4.0;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::uint64_t load_le64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= std::uint64_t{p[i]} << (8 * i);
  return v;
}

std::string mib(std::uint64_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

// What a worker needs about its device beyond the DeviceInfo it reports.
struct DeviceFacts {
  cl_platform_id platform = nullptr;
  cl_device_id device = nullptr;
  std::string platform_name;
  std::string platform_version;
  std::string extensions;
  bool is_cpu = false;
  bool little_endian = true;
  cl_ulong max_alloc = 0;
  cl_ulong global_mem = 0;
  std::size_t max_group = 0;
};

struct CacheSlot {
  bool valid = false;
  core::Hash seed{};
  Buffer buffer;
  std::uint64_t last_use = 0;
};

class OpenClWorker final : public hal::Worker {
 public:
  OpenClWorker(const DeviceFacts& facts, hal::DeviceInfo info, const Variant& variant, const hal::WorkerOptions& options)
      : facts_(facts), info_(std::move(info)), variant_(variant), options_(options) {
    info_.kernel = std::string(variant_.name);
    // Notes are added by init() and by the first search (autotune); room reserved up front
    // so that adding one never moves the others.
    info_.notes.reserve(info_.notes.size() + 8);
  }

  ~OpenClWorker() override {
    // Everything enqueued is waited for before the objects it uses are released.
    if (queue_) clFinish(queue_.get());
  }
  OpenClWorker(const OpenClWorker&) = delete;
  OpenClWorker& operator=(const OpenClWorker&) = delete;

  Status init() {
    cl_int err = CL_SUCCESS;
    const cl_context_properties props[] = {CL_CONTEXT_PLATFORM, reinterpret_cast<cl_context_properties>(facts_.platform),
                                           0};
    context_.reset(clCreateContext(props, 1, &facts_.device, nullptr, nullptr, &err));
    if (err != CL_SUCCESS) return cl_status("clCreateContext", err);
    queue_.reset(clCreateCommandQueue(context_.get(), facts_.device, 0, &err));
    if (err != CL_SUCCESS) return cl_status("clCreateCommandQueue", err);
    if (Status st = build_program(); !st) return st;
    for (auto [kernel, name] : {std::pair{&ids_kernel_, "tensority_ids"}, std::pair{&lanes_kernel_, "tensority_lanes"},
                                std::pair{&finish_kernel_, "tensority_finish"}}) {
      kernel->reset(clCreateKernel(program_.get(), name, &err));
      if (err != CL_SUCCESS) return cl_status(std::string("clCreateKernel(") + name + ")", err);
    }
    if (Status st = choose_group_sizes(); !st) return st;
    body_.reset(clCreateBuffer(context_.get(), CL_MEM_READ_ONLY, core::kIdBodyBytes, nullptr, &err));
    if (err != CL_SUCCESS) return cl_status("clCreateBuffer(body)", err);
    ids_in_.reset(clCreateBuffer(context_.get(), CL_MEM_READ_ONLY, 32, nullptr, &err));
    if (err != CL_SUCCESS) return cl_status("clCreateBuffer(ids_in)", err);
    count_.reset(clCreateBuffer(context_.get(), CL_MEM_READ_WRITE, sizeof(cl_uint), nullptr, &err));
    if (err != CL_SUCCESS) return cl_status("clCreateBuffer(found_count)", err);

    if (options_.batch != 0) {
      batch_ = options_.batch;
      info_.notes.push_back("batch " + std::to_string(batch_.load()) + ": set by the caller");
    } else if (!options_.autotune) {
      batch_ = default_batch();
      info_.notes.push_back("batch " + std::to_string(batch_.load()) + ": safe default for this device (autotune off)");
    } else if (auto saved = hal::TuningStore::process_default().load(tuning_key());
               saved && saved->is_object() && saved->contains("batch") && (*saved)["batch"].is_number_unsigned()) {
      // Anything else in the entry (a damaged or foreign value) costs a re-tune, not an error.
      const auto b = (*saved)["batch"].get<std::uint64_t>();
      if (b >= 1 && b <= limit_batch()) {
        batch_ = b;
        info_.notes.push_back("batch " + std::to_string(batch_.load()) + ": autotuned earlier, read from " +
                              hal::TuningStore::process_default().file().string());
      }
    }
    return Status::success();
  }

  const hal::DeviceInfo& device() const override { return info_; }
  std::string kernel_name() const override { return std::string(variant_.name); }
  unsigned parallelism() const override {
    const std::uint64_t tuned = batch_.load();
    const std::uint64_t b = tuned != 0 ? tuned : default_batch();
    return static_cast<unsigned>(std::min<std::uint64_t>(b, 0xFFFFFFFFu));
  }
  std::uint64_t hashes_total() const override { return hashes_total_.load(std::memory_order_relaxed); }
  bool from_cache() const { return from_cache_; }
  void add_note(std::string note) { info_.notes.push_back(std::move(note)); }
  std::size_t lanes_group() const { return lanes_group_; }

  Status prepare(const core::Hash& seed) override {
    std::lock_guard lock(mutex_);
    return guarded([&] { return prepare_locked(seed); });
  }

  Status search(const hal::SearchJob& job, std::uint64_t nonce_start, std::uint64_t count,
                const core::Target256& target, hal::SearchResult& out, const std::atomic<bool>* stop) override {
    std::lock_guard lock(mutex_);
    return guarded([&] { return search_locked(job, nonce_start, count, target, out, stop); });
  }

  Status hash(const core::Hash& block_id, core::Hash& result) override {
    std::lock_guard lock(mutex_);
    return guarded([&]() -> Status {
      if (current_ < 0) return Status::error(StatusCode::not_prepared, "hash() before prepare()");
      cl_int err = clEnqueueWriteBuffer(queue_.get(), ids_in_.get(), CL_TRUE, 0, 32, block_id.data(), 0, nullptr, nullptr);
      if (err != CL_SUCCESS) return cl_status("clEnqueueWriteBuffer(block id)", err);
      core::Target256 never;
      never.never = true;
      return run_batch(/*given_id=*/true, 0, 1, never, nullptr, &result);
    });
  }

  Status self_test(std::string& report) override {
    std::optional<core::Hash> keep;
    {
      std::lock_guard lock(mutex_);
      if (current_ >= 0) keep = slots_[static_cast<std::size_t>(current_)].seed;
    }
    Status st = hal::run_known_answers(*this, report);
    // Leave the worker prepared for the seed it had before, whatever happened.
    if (keep) {
      Status back = prepare(*keep);
      if (st && !back) st = back;
    }
    return st;
  }

 private:
  template <typename F>
  Status guarded(F&& f) {
    try {
      return f();
    } catch (const std::bad_alloc&) {
      return Status::error(StatusCode::out_of_memory, "host memory exhausted");
    } catch (const std::exception& e) {
      return Status::error(StatusCode::device_error, std::string("unexpected error: ") + e.what());
    }
  }

  std::string tuning_key() const { return hal::tuning_key(info_, variant_.name); }

  // Without tuning: enough items to give every compute unit a few groups.
  std::uint64_t default_batch() const {
    const std::uint64_t cu = std::max(1u, info_.compute_units);
    return std::min(limit_batch(), facts_.is_cpu ? 2 * cu : 4 * cu);
  }

  // The largest batch the device's allocation limit and a quarter of its memory allow.
  std::uint64_t limit_batch() const {
    std::uint64_t limit = facts_.is_cpu ? 64 : kMaxBatch;
    if (facts_.max_alloc > 0) limit = std::min<std::uint64_t>(limit, facts_.max_alloc / kItemStateBytes);
    const std::uint64_t per_item = kItemStateBytes * (variant_.uses_scratch ? 2 : 1);
    if (facts_.global_mem > 0) limit = std::min<std::uint64_t>(limit, facts_.global_mem / 4 / per_item);
    return std::max<std::uint64_t>(limit, 1);
  }

  std::string build_options() const {
    std::string o = "-cl-std=CL1.2 ";
    o += variant_.options;
    return o;
  }

  Status build_program() {
    std::string source(embedded_source("common.cl"));
    source += "\n";
    source += embedded_source(variant_.source);
    const std::string options = build_options();
    ProgramIdentity id{facts_.platform_name, facts_.platform_version, info_.name, info_.driver_version, options, source};
    const auto file = program_cache_file(program_cache_key(id));
    cl_int err = CL_SUCCESS;

    std::string why;
    if (auto binary = read_program_cache(file, why)) {
      const unsigned char* ptr = binary->data();
      const std::size_t size = binary->size();
      cl_int binary_status = CL_SUCCESS;
      Program p(clCreateProgramWithBinary(context_.get(), 1, &facts_.device, &size, &ptr, &binary_status, &err));
      if (err == CL_SUCCESS && binary_status == CL_SUCCESS) {
        err = clBuildProgram(p.get(), 1, &facts_.device, options.c_str(), nullptr, nullptr);
        if (err == CL_SUCCESS) {
          program_ = std::move(p);
          from_cache_ = true;
          info_.notes.push_back("program: loaded from cache " + file.string());
          return Status::success();
        }
        why = "cached program " + file.string() + " rejected by clBuildProgram: " + cl_error_name(err);
      } else {
        why = "cached program " + file.string() + " rejected by clCreateProgramWithBinary: " +
              cl_error_name(err != CL_SUCCESS ? err : binary_status);
      }
    }

    const auto t0 = Clock::now();
    const char* text = source.c_str();
    const std::size_t length = source.size();
    program_.reset(clCreateProgramWithSource(context_.get(), 1, &text, &length, &err));
    if (err != CL_SUCCESS) return cl_status("clCreateProgramWithSource", err);
    err = clBuildProgram(program_.get(), 1, &facts_.device, options.c_str(), nullptr, nullptr);
    if (err != CL_SUCCESS) {
      Status st = cl_status("clBuildProgram(" + std::string(variant_.name) + ", " + options + ")", err);
      st.message += "; build log: " + build_log(program_.get(), facts_.device);
      return st;
    }
    std::ostringstream note;
    note.precision(2);
    note << std::fixed << "program: built from source in " << seconds_since(t0) << " s";
    if (why != "no cached program") note << " (" << why << ")";
    // Save the binary for the next run; failing to is only a note.
    std::vector<unsigned char> binary;
    std::string save_error;
    if (program_binary(binary, save_error) && write_program_cache(file, binary, save_error)) {
      note << ", cached as " << file.string();
    } else {
      note << ", not cached: " << save_error;
    }
    info_.notes.push_back(note.str());
    return Status::success();
  }

  bool program_binary(std::vector<unsigned char>& out, std::string& why) {
    std::size_t size = 0;
    cl_int err = clGetProgramInfo(program_.get(), CL_PROGRAM_BINARY_SIZES, sizeof size, &size, nullptr);
    if (err != CL_SUCCESS || size == 0) {
      why = "clGetProgramInfo(CL_PROGRAM_BINARY_SIZES) gave " + (err != CL_SUCCESS ? cl_error_name(err) : "no binary");
      return false;
    }
    out.assign(size, 0);
    unsigned char* ptr = out.data();
    err = clGetProgramInfo(program_.get(), CL_PROGRAM_BINARIES, sizeof ptr, &ptr, nullptr);
    if (err != CL_SUCCESS) {
      why = "clGetProgramInfo(CL_PROGRAM_BINARIES) failed: " + cl_error_name(err);
      return false;
    }
    return true;
  }

  static std::size_t floor_pow2(std::size_t v) {
    std::size_t p = 1;
    while (p * 2 <= v) p *= 2;
    return p;
  }

  Status kernel_group_limit(cl_kernel k, const char* name, std::size_t& out) {
    cl_int err = clGetKernelWorkGroupInfo(k, facts_.device, CL_KERNEL_WORK_GROUP_SIZE, sizeof out, &out, nullptr);
    if (err != CL_SUCCESS) return cl_status(std::string("clGetKernelWorkGroupInfo(") + name + ")", err);
    return Status::success();
  }

  // Work-group sizes per kernel, bounded by what the compiled kernel allows on this device.
  Status choose_group_sizes() {
    std::size_t ids_max = 0, lanes_max = 0, finish_max = 0;
    if (Status st = kernel_group_limit(ids_kernel_.get(), "tensority_ids", ids_max); !st) return st;
    if (Status st = kernel_group_limit(lanes_kernel_.get(), "tensority_lanes", lanes_max); !st) return st;
    if (Status st = kernel_group_limit(finish_kernel_.get(), "tensority_finish", finish_max); !st) return st;
    if (finish_max < kFinishGroup) {
      return Status::error(StatusCode::unsupported, "tensority_finish needs " + std::to_string(kFinishGroup) +
                                                        " work-items per group; the device allows " +
                                                        std::to_string(finish_max));
    }
    ids_group_ = std::min<std::size_t>(kIdsGroup, floor_pow2(ids_max));
    const std::size_t per_lane = 256 / variant_.rows_per_item;
    if (variant_.fixed_group) {
      if (lanes_max < per_lane) {
        return Status::error(StatusCode::unsupported, "kernel " + std::string(variant_.name) + " needs " +
                                                          std::to_string(per_lane) +
                                                          " work-items per group; this device allows " +
                                                          std::to_string(lanes_max));
      }
      lanes_group_ = per_lane;
    } else {
      // One lane per group where possible (the lane's rows share B in cache); per_lane is a
      // power of two, so any smaller power of two divides the global size.
      lanes_group_ = std::min(per_lane, floor_pow2(lanes_max));
    }
    info_.notes.push_back("work-group sizes: lanes " + std::to_string(lanes_group_) + " (kernel allows " +
                          std::to_string(lanes_max) + "), ids " + std::to_string(ids_group_) + ", finish " +
                          std::to_string(kFinishGroup));
    return Status::success();
  }

  Status make_buffer(Buffer& b, cl_mem_flags flags, std::size_t bytes, const char* what) {
    cl_int err = CL_SUCCESS;
    b.reset(clCreateBuffer(context_.get(), flags, bytes, nullptr, &err));
    if (err != CL_SUCCESS) {
      Status st = cl_status(std::string("clCreateBuffer(") + what + ", " + mib(bytes) + ")", err);
      b.reset();
      return st;
    }
    return Status::success();
  }

  // Per-item buffers for n items in one launch.
  Status ensure_capacity(std::uint64_t n) {
    if (n <= capacity_) return Status::success();
    if (n > kMaxBatch || (facts_.max_alloc > 0 && n * kItemStateBytes > facts_.max_alloc)) {
      return Status::error(StatusCode::out_of_memory,
                           "batch " + std::to_string(n) + " needs " + mib(n * kItemStateBytes) +
                               " per lane-state buffer; the device allows " + mib(facts_.max_alloc) + " per buffer");
    }
    capacity_ = 0;
    const std::size_t items = static_cast<std::size_t>(n);
    if (Status st = make_buffer(ids_, CL_MEM_READ_WRITE, items * 32, "block ids"); !st) return st;
    if (Status st = make_buffer(q_, CL_MEM_READ_WRITE, items * 128, "lane indices"); !st) return st;
    if (Status st = make_buffer(final_, CL_MEM_READ_WRITE, items * kItemStateBytes, "lane states"); !st) return st;
    if (variant_.uses_scratch) {
      if (Status st = make_buffer(scratch_, CL_MEM_READ_WRITE, items * kItemStateBytes, "lane scratch"); !st) return st;
    }
    if (Status st = make_buffer(results_, CL_MEM_READ_WRITE, items * 32, "results"); !st) return st;
    if (Status st = make_buffer(found_, CL_MEM_READ_WRITE, items * kFoundWords * 8, "found list"); !st) return st;
    capacity_ = n;
    return Status::success();
  }

  Status prepare_locked(const core::Hash& seed) {
    ++clock_;
    if (current_ >= 0 && slots_[static_cast<std::size_t>(current_)].seed == seed) {
      slots_[static_cast<std::size_t>(current_)].last_use = clock_;
      return Status::success();
    }
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].valid && slots_[i].seed == seed) {
        slots_[i].last_use = clock_;
        current_ = static_cast<int>(i);
        return Status::success();
      }
    }
    // Replace an empty slot, else the least recently used one.
    std::size_t victim = 0;
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      if (!slots_[i].valid) {
        victim = i;
        break;
      }
      if (slots_[i].last_use < slots_[victim].last_use) victim = i;
    }
    CacheSlot& slot = slots_[victim];
    if (current_ == static_cast<int>(victim)) current_ = -1;
    slot.valid = false;

    std::vector<std::int8_t> host(core::kCacheBytes);
    core::build_cache(seed, host);
    if (variant_.layout == CacheLayout::transposed) {
      std::vector<std::int8_t> t(core::kCacheBytes);
      for (std::size_t k = 0; k < core::kMatrixCount; ++k) {
        const std::int8_t* m = host.data() + k * core::kMatrixBytes;
        std::int8_t* o = t.data() + k * core::kMatrixBytes;
        // 16x16 blocks keep both sides in L1.
        for (std::size_t r0 = 0; r0 < core::kDim; r0 += 16) {
          for (std::size_t c0 = 0; c0 < core::kDim; c0 += 16) {
            for (std::size_t r = r0; r < r0 + 16; ++r) {
              for (std::size_t c = c0; c < c0 + 16; ++c) o[c * core::kDim + r] = m[r * core::kDim + c];
            }
          }
        }
      }
      host.swap(t);
    }
    if (!slot.buffer) {
      if (Status st = make_buffer(slot.buffer, CL_MEM_READ_ONLY, core::kCacheBytes, "matrix cache"); !st) return st;
    }
    cl_int err = clEnqueueWriteBuffer(queue_.get(), slot.buffer.get(), CL_TRUE, 0, core::kCacheBytes, host.data(), 0,
                                      nullptr, nullptr);
    if (err != CL_SUCCESS) return cl_status("clEnqueueWriteBuffer(matrix cache)", err);
    slot.valid = true;
    slot.seed = seed;
    slot.last_use = clock_;
    current_ = static_cast<int>(victim);
    return Status::success();
  }

  template <typename T>
  Status arg(cl_kernel k, const char* kernel_name, cl_uint index, const T& value) {
    const cl_int err = clSetKernelArg(k, index, sizeof(T), &value);
    if (err != CL_SUCCESS) {
      return cl_status(std::string("clSetKernelArg(") + kernel_name + ", " + std::to_string(index) + ")", err);
    }
    return Status::success();
  }

  Status enqueue(cl_kernel k, const char* name, std::size_t global, std::size_t local) {
    const cl_int err = clEnqueueNDRangeKernel(queue_.get(), k, 1, nullptr, &global, &local, 0, nullptr, nullptr);
    if (err != CL_SUCCESS) return cl_status(std::string("clEnqueueNDRangeKernel(") + name + ")", err);
    return Status::success();
  }

  // One launch of n items. given_id: item 0's block ID is in ids_in_ (hash mode, n = 1) and
  // its result is returned in *result; else item i is nonce nonce_start + i over body_ and
  // the items meeting target are appended to *found.
  Status run_batch(bool given_id, std::uint64_t nonce_start, std::uint64_t n, const core::Target256& target,
                   std::vector<hal::Found>* found, core::Hash* result) {
    if (Status st = ensure_capacity(n); !st) return st;
    const cl_mem cache = slots_[static_cast<std::size_t>(current_)].buffer.get();
    const cl_uint items = static_cast<cl_uint>(n);
    const cl_uint lanes = static_cast<cl_uint>(n * core::kLanes);
    const cl_uint zero = 0;
    cl_int err = clEnqueueFillBuffer(queue_.get(), count_.get(), &zero, sizeof zero, 0, sizeof zero, 0, nullptr, nullptr);
    if (err != CL_SUCCESS) return cl_status("clEnqueueFillBuffer(found_count)", err);

    {
      cl_kernel k = ids_kernel_.get();
      const char* name = "tensority_ids";
      const cl_uint mode = given_id ? 1 : 0;
      Status st = arg(k, name, 0, body_.get());
      if (st) st = arg(k, name, 1, cl_ulong{nonce_start});
      if (st) st = arg(k, name, 2, ids_in_.get());
      if (st) st = arg(k, name, 3, mode);
      if (st) st = arg(k, name, 4, ids_.get());
      if (st) st = arg(k, name, 5, q_.get());
      if (st) st = arg(k, name, 6, items);
      if (st) st = enqueue(k, name, (n + ids_group_ - 1) / ids_group_ * ids_group_, ids_group_);
      if (!st) return st;
    }
    {
      cl_kernel k = lanes_kernel_.get();
      const char* name = "tensority_lanes";
      Status st = arg(k, name, 0, cache);
      if (st) st = arg(k, name, 1, q_.get());
      cl_uint next = 2;
      if (st && variant_.uses_scratch) st = arg(k, name, next++, scratch_.get());
      if (st) st = arg(k, name, next++, final_.get());
      if (st) st = arg(k, name, next++, lanes);
      if (st) st = enqueue(k, name, static_cast<std::size_t>(lanes) * (256 / variant_.rows_per_item), lanes_group_);
      if (!st) return st;
    }
    {
      cl_kernel k = finish_kernel_.get();
      const char* name = "tensority_finish";
      const cl_uint never = target.never ? 1 : 0;
      const cl_uint want_all = result != nullptr ? 1 : 0;
      const cl_uint capacity = items;
      Status st = arg(k, name, 0, final_.get());
      if (st) st = arg(k, name, 1, ids_.get());
      if (st) st = arg(k, name, 2, cl_ulong{nonce_start});
      if (st) st = arg(k, name, 3, items);
      for (cl_uint i = 0; st && i < 4; ++i) st = arg(k, name, 4 + i, cl_ulong{target.limbs[i]});
      if (st) st = arg(k, name, 8, never);
      if (st) st = arg(k, name, 9, want_all);
      if (st) st = arg(k, name, 10, results_.get());
      if (st) st = arg(k, name, 11, count_.get());
      if (st) st = arg(k, name, 12, found_.get());
      if (st) st = arg(k, name, 13, capacity);
      if (st) st = enqueue(k, name, static_cast<std::size_t>(n) * kFinishGroup, kFinishGroup);
      if (!st) return st;
    }

    if (result != nullptr) {
      err = clEnqueueReadBuffer(queue_.get(), results_.get(), CL_TRUE, 0, 32, result->data(), 0, nullptr, nullptr);
      if (err != CL_SUCCESS) return cl_status("clEnqueueReadBuffer(results)", err);
    }
    cl_uint count = 0;
    err = clEnqueueReadBuffer(queue_.get(), count_.get(), CL_TRUE, 0, sizeof count, &count, 0, nullptr, nullptr);
    if (err != CL_SUCCESS) return cl_status("clEnqueueReadBuffer(found_count)", err);
    if (count > items) {
      return Status::error(StatusCode::device_error, "device reported " + std::to_string(count) + " finds in a launch of " +
                                                         std::to_string(items));
    }
    if (count > 0 && found != nullptr) {
      std::vector<std::uint8_t> raw(std::size_t{count} * kFoundWords * 8);
      err = clEnqueueReadBuffer(queue_.get(), found_.get(), CL_TRUE, 0, raw.size(), raw.data(), 0, nullptr, nullptr);
      if (err != CL_SUCCESS) return cl_status("clEnqueueReadBuffer(found list)", err);
      for (cl_uint i = 0; i < count; ++i) {
        const std::uint8_t* rec = raw.data() + std::size_t{i} * kFoundWords * 8;
        hal::Found f;
        f.nonce = load_le64(rec);
        std::memcpy(f.block_id.data(), rec + 8, 32);
        std::memcpy(f.result.data(), rec + 40, 32);
        found->push_back(f);
      }
    }
    return Status::success();
  }

  // The batch size on first use: the tuning store, else a bounded timed search that is saved.
  Status ensure_batch() {
    if (batch_ != 0) return Status::success();
    if (!options_.autotune) {
      batch_ = default_batch();
      return Status::success();
    }
    auto& store = hal::TuningStore::process_default();
    const std::string key = tuning_key();
    const auto t0 = Clock::now();
    const std::uint64_t limit = limit_batch();
    const std::uint64_t first = std::min(limit, std::uint64_t{std::max(1u, info_.compute_units)});
    core::Target256 never;
    never.never = true;
    bool warmed = false;
    double last_launch_seconds = 0;
    auto measure = [&](std::uint64_t batch) -> core::Result<double> {
      using R = core::Result<double>;
      // A trial that would run past the budget is not started; the best so far stands.
      // The next trial doubles the batch: at least one launch of twice the last one.
      if (seconds_since(t0) + std::max(kTrialSeconds, 2 * last_launch_seconds) > kTuneBudgetSeconds) {
        return R::failure("tuning time budget spent");
      }
      if (Status st = ensure_capacity(batch); !st) return R::failure(st.message);
      if (!warmed) {
        // The first launch pays for the driver's kernel finalisation; keep it out of the timing.
        if (Status st = run_batch(false, 0, batch, never, nullptr, nullptr); !st) return R::failure(st.message);
        warmed = true;
      }
      const auto start = Clock::now();
      std::uint64_t hashes = 0;
      int launches = 0;
      do {
        if (Status st = run_batch(false, hashes, batch, never, nullptr, nullptr); !st) return R::failure(st.message);
        hashes += batch;
        ++launches;
      } while (seconds_since(start) < kTrialSeconds);
      const double elapsed = seconds_since(start);
      last_launch_seconds = elapsed / launches;
      return static_cast<double>(hashes) / elapsed;
    };
    auto tuned = hal::autotune_batch(first, limit, measure);
    if (!tuned) return Status::error(StatusCode::device_error, "autotune failed: " + tuned.error());
    batch_ = tuned->batch;
    nlohmann::json saved = tuned->to_json();
    saved["lanes_work_group_size"] = lanes_group_;
    saved["tuning_seconds"] = seconds_since(t0);
    std::ostringstream note;
    note.precision(1);
    note << std::fixed << "batch " << batch_.load() << ": autotuned on first use in " << seconds_since(t0) << " s (";
    for (std::size_t i = 0; i < tuned->trials.size(); ++i) {
      note << (i ? ", " : "") << tuned->trials[i].batch << " -> " << tuned->trials[i].hashes_per_second << " H/s";
    }
    note << ")";
    if (Status st = store.save(key, saved); st) {
      note << ", saved to " << store.file().string();
    } else {
      note << ", not saved: " << st.message;
    }
    info_.notes.push_back(note.str());
    return Status::success();
  }

  Status search_locked(const hal::SearchJob& job, std::uint64_t nonce_start, std::uint64_t count,
                       const core::Target256& target, hal::SearchResult& out, const std::atomic<bool>* stop) {
    if (current_ < 0 || slots_[static_cast<std::size_t>(current_)].seed != job.seed) {
      return Status::error(StatusCode::not_prepared, "search for seed " + core::to_hex(job.seed) + " before prepare()");
    }
    if (count == 0) return Status::success();
    if (stop != nullptr && stop->load(std::memory_order_relaxed)) return Status::success();
    cl_int err = clEnqueueWriteBuffer(queue_.get(), body_.get(), CL_TRUE, 0, core::kIdBodyBytes, job.id_body.data(), 0,
                                      nullptr, nullptr);
    if (err != CL_SUCCESS) return cl_status("clEnqueueWriteBuffer(block body)", err);
    if (Status st = ensure_batch(); !st) return st;
    std::uint64_t done = 0;
    while (done < count) {
      if (stop != nullptr && stop->load(std::memory_order_relaxed)) break;
      const std::uint64_t n = std::min<std::uint64_t>(batch_, count - done);
      const std::size_t found_before = out.found.size();
      // Nonces wrap at 2^64 by design; unsigned arithmetic does it on both sides.
      if (Status st = run_batch(false, nonce_start + done, n, target, &out.found, nullptr); !st) return st;
      done += n;
      out.hashes_done += n;
      hashes_total_.fetch_add(n, std::memory_order_relaxed);
      if (job.return_on_find && out.found.size() > found_before) break;
    }
    return Status::success();
  }

  DeviceFacts facts_;
  hal::DeviceInfo info_;
  const Variant& variant_;
  hal::WorkerOptions options_;

  std::mutex mutex_;
  Context context_;
  Queue queue_;
  Program program_;
  bool from_cache_ = false;
  Kernel ids_kernel_;
  Kernel lanes_kernel_;
  Kernel finish_kernel_;
  std::size_t ids_group_ = kIdsGroup;
  std::size_t lanes_group_ = 0;

  Buffer body_;
  Buffer ids_in_;
  Buffer count_;
  std::uint64_t capacity_ = 0;
  Buffer ids_;
  Buffer q_;
  Buffer final_;
  Buffer scratch_;
  Buffer results_;
  Buffer found_;

  std::array<CacheSlot, 2> slots_;
  int current_ = -1;
  std::uint64_t clock_ = 0;

  std::atomic<std::uint64_t> batch_{0};  // read by parallelism() while a search may tune
  std::atomic<std::uint64_t> hashes_total_{0};
};

class OpenClDevice final : public hal::Device {
 public:
  OpenClDevice(DeviceFacts facts, hal::DeviceInfo info) : facts_(std::move(facts)), info_(std::move(info)) {}

  const hal::DeviceInfo& info() const override { return info_; }

  Status create_worker(const hal::WorkerOptions& options, std::unique_ptr<hal::Worker>& out) override {
    try {
      const Variant* variant = &default_variant(facts_.is_cpu, facts_.extensions);
      if (!options.kernel.empty()) {
        variant = find_variant(options.kernel);
        if (variant == nullptr || (!variant->extension.empty() && !has_extension(facts_.extensions, variant->extension))) {
          std::string names;
          for (const Variant& v : all_variants()) {
            if (v.extension.empty() || has_extension(facts_.extensions, v.extension)) {
              names += (names.empty() ? "" : ", ") + std::string(v.name);
            }
          }
          const std::string why =
              variant == nullptr ? "" : ": the device lacks " + std::string(variant->extension);
          return Status::error(StatusCode::unsupported, "kernel '" + options.kernel +
                                                            "' is unknown or unsupported here" + why +
                                                            " (available: " + names + ")");
        }
      }
      if (!facts_.little_endian) {
        return Status::error(StatusCode::unsupported, info_.id + " is a big-endian device; the kernels assume little-endian");
      }
      if (options.batch > kMaxBatch) {
        return Status::error(StatusCode::invalid_argument,
                             "batch " + std::to_string(options.batch) + " is too large (at most " +
                                 std::to_string(kMaxBatch) + ")");
      }
      auto worker = std::make_unique<OpenClWorker>(facts_, info_, *variant, options);
      Status st = worker->init();
      if (!st && options.kernel.empty() && !variant->fallback.empty()) {
        // The default kernel may rely on a compiler feature this driver lacks; the portable
        // fallback is slower but builds anywhere.
        const Variant* fallback = find_variant(variant->fallback);
        auto second = std::make_unique<OpenClWorker>(facts_, info_, *fallback, options);
        if (Status st2 = second->init(); st2) {
          second->add_note("kernel " + std::string(variant->name) + " unavailable (" + st.message.substr(0, 300) +
                           "); using " + std::string(fallback->name));
          worker = std::move(second);
          st = Status::success();
        }
      }
      if (!st) return st;
      out = std::move(worker);
      return Status::success();
    } catch (const std::bad_alloc&) {
      return Status::error(StatusCode::out_of_memory, "host memory exhausted creating an OpenCL worker");
    } catch (const std::exception& e) {
      return Status::error(StatusCode::device_error, std::string("unexpected error: ") + e.what());
    }
  }

 private:
  DeviceFacts facts_;
  hal::DeviceInfo info_;
};

class OpenClBackend final : public hal::Backend {
 public:
  OpenClBackend() {
    try {
      enumerate();
    } catch (const std::exception& e) {
      notes_.push_back(std::string("device enumeration failed: ") + e.what());
    }
  }

  std::string_view name() const override { return "opencl"; }
  std::vector<std::shared_ptr<hal::Device>> devices() override { return devices_; }
  std::vector<std::string> notes() const override { return notes_; }

 private:
  void enumerate() {
    cl_uint platform_count = 0;
    cl_int err = clGetPlatformIDs(0, nullptr, &platform_count);
    if (err == -1001 /* CL_PLATFORM_NOT_FOUND_KHR */ || (err == CL_SUCCESS && platform_count == 0)) {
      notes_.push_back("no OpenCL platforms: the ICD loader found no installed driver (clGetPlatformIDs: " +
                       cl_error_name(err == CL_SUCCESS ? -1001 : err) +
                       "); install one (a GPU vendor's OpenCL driver, or pocl-opencl-icd for CPUs)");
      return;
    }
    if (err != CL_SUCCESS) {
      notes_.push_back("clGetPlatformIDs failed: " + cl_error_name(err));
      return;
    }
    std::vector<cl_platform_id> platforms(platform_count);
    err = clGetPlatformIDs(platform_count, platforms.data(), nullptr);
    if (err != CL_SUCCESS) {
      notes_.push_back("clGetPlatformIDs failed: " + cl_error_name(err));
      return;
    }
    for (cl_uint p = 0; p < platform_count; ++p) {
      const std::string pname = platform_string(platforms[p], CL_PLATFORM_NAME);
      cl_uint device_count = 0;
      err = clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, 0, nullptr, &device_count);
      if (err == CL_DEVICE_NOT_FOUND || (err == CL_SUCCESS && device_count == 0)) {
        notes_.push_back("platform " + std::to_string(p) + " (" + pname + ") has no devices");
        continue;
      }
      if (err != CL_SUCCESS) {
        notes_.push_back("platform " + std::to_string(p) + " (" + pname + "): clGetDeviceIDs failed: " + cl_error_name(err));
        continue;
      }
      std::vector<cl_device_id> ids(device_count);
      err = clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, device_count, ids.data(), nullptr);
      if (err != CL_SUCCESS) {
        notes_.push_back("platform " + std::to_string(p) + " (" + pname + "): clGetDeviceIDs failed: " + cl_error_name(err));
        continue;
      }
      for (cl_uint d = 0; d < device_count; ++d) add_device(platforms[p], pname, p, ids[d], d);
    }
    if (devices_.empty()) notes_.push_back("OpenCL platforms found, but none has a device");
  }

  void add_device(cl_platform_id platform, const std::string& pname, cl_uint p, cl_device_id device, cl_uint d) {
    DeviceFacts facts;
    facts.platform = platform;
    facts.device = device;
    facts.platform_name = pname;
    facts.platform_version = platform_string(platform, CL_PLATFORM_VERSION);
    facts.extensions = device_string(device, CL_DEVICE_EXTENSIONS);
    cl_device_type type = 0;
    device_value(device, CL_DEVICE_TYPE, type);
    facts.is_cpu = (type & CL_DEVICE_TYPE_CPU) != 0;
    cl_bool little = CL_TRUE;
    device_value(device, CL_DEVICE_ENDIAN_LITTLE, little);
    facts.little_endian = little == CL_TRUE;
    device_value(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, facts.max_alloc);
    device_value(device, CL_DEVICE_GLOBAL_MEM_SIZE, facts.global_mem);
    device_value(device, CL_DEVICE_MAX_WORK_GROUP_SIZE, facts.max_group);

    hal::DeviceInfo info;
    info.backend = "opencl";
    info.id = "opencl:" + std::to_string(p) + ":" + std::to_string(d);
    info.name = device_string(device, CL_DEVICE_NAME);
    info.vendor = device_string(device, CL_DEVICE_VENDOR);
    info.driver_version = device_string(device, CL_DRIVER_VERSION);
    info.memory_bytes = facts.global_mem;
    cl_uint units = 0;
    device_value(device, CL_DEVICE_MAX_COMPUTE_UNITS, units);
    info.compute_units = units;
    const std::string pci = pci_bus_id(device, facts.extensions);
    info.stable_id = pci.empty() ? "opencl:" + pname + ":" + info.name : pci;
    info.kernel = std::string(default_variant(facts.is_cpu, facts.extensions).name);
    info.notes.push_back("platform " + pname + " (" + facts.platform_version + ")");
    if (facts.is_cpu) {
      info.in_all = false;
      info.notes.push_back("CPU OpenCL device: `--device all` skips it because the cpu backend drives these cores "
                           "faster; select it by id (" + info.id + ") to use it anyway");
    }
    if (!facts.little_endian) info.notes.push_back("big-endian device: unsupported (the kernels assume little-endian)");
    if (has_extension(facts.extensions, "cl_khr_integer_dot_product")) {
      info.notes.push_back("cl_khr_integer_dot_product: kernel rows_dot16 uses its non-saturating dot()");
    }
    devices_.push_back(std::make_shared<OpenClDevice>(std::move(facts), std::move(info)));
  }

  std::vector<std::shared_ptr<hal::Device>> devices_;
  std::vector<std::string> notes_;
};

}  // namespace

std::unique_ptr<hal::Backend> make_backend() { return std::make_unique<OpenClBackend>(); }

std::vector<std::string> variant_names() {
  std::vector<std::string> out;
  for (const Variant& v : all_variants()) out.emplace_back(v.name);
  return out;
}

bool program_loaded_from_cache(const hal::Worker& worker) {
  const auto* w = dynamic_cast<const OpenClWorker*>(&worker);
  return w != nullptr && w->from_cache();
}

std::size_t lanes_work_group_size(const hal::Worker& worker) {
  const auto* w = dynamic_cast<const OpenClWorker*>(&worker);
  return w != nullptr ? w->lanes_group() : 0;
}

}  // namespace tensority::kernels::opencl

void tensority_register_backend_opencl(tensority::kernels::hal::Registry& registry) {
  registry.add("opencl", [] { return tensority::kernels::opencl::make_backend(); });
}
