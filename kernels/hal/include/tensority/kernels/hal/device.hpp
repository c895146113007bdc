#pragma once
// The device layer: Backend -> Device -> Worker. Backends (cpu, and later cuda, opencl)
// register themselves with the Registry; shared code never names a backend. Across this
// boundary errors are Status codes with a message, never exceptions.
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tensority/core/block_header.hpp"
#include "tensority/core/target.hpp"
#include "tensority/core/types.hpp"

namespace tensority::kernels::hal {

inline constexpr int kApiVersion = 3;

enum class StatusCode { ok, invalid_argument, not_prepared, unsupported, out_of_memory, device_error, self_test_failed };

struct Status {
  StatusCode code = StatusCode::ok;
  std::string message;

  static Status success() { return {}; }
  static Status error(StatusCode c, std::string m) { return {c, std::move(m)}; }
  bool ok() const { return code == StatusCode::ok; }
  explicit operator bool() const { return ok(); }
};

std::string_view to_string(StatusCode code);

struct DeviceInfo {
  std::string backend;        // "cpu", "cuda", "opencl"
  std::string id;             // what --device takes: "cpu:0", "cuda:N", "opencl:P:D"
  std::string stable_id;      // survives reboots and re-plugging: the PCI bus id for GPUs
  std::string name;           // e.g. the CPU brand string
  std::string vendor;
  std::string driver_version;
  std::uint64_t memory_bytes = 0;
  unsigned compute_units = 0;  // cores for a CPU
  std::string kernel;          // the kernel variant a worker will run by default
  std::vector<std::string> notes;  // why something is limited or disabled
  // False for a device that only re-exposes hardware another backend drives better (an
  // OpenCL CPU device such as PoCL): `--device all` skips it; naming it still works.
  bool in_all = true;
};

// What to hash: the 136-byte block-ID body with the nonce field (last 8 bytes, LE) to be
// filled in, and the epoch seed the worker must be prepared for.
struct SearchJob {
  std::array<std::uint8_t, core::kIdBodyBytes> id_body{};
  core::Hash seed{};
  // Return from search() after the hash (CPU) or launch (GPU) that found a result, so it can
  // be submitted at once instead of at the end of the call. hashes_done still counts a
  // gap-free run of nonces from nonce_start.
  bool return_on_find = false;

  static SearchJob from_header(const core::BlockHeader& header, const core::Hash& seed);
  core::Hash block_id(std::uint64_t nonce) const;
};

struct Found {
  std::uint64_t nonce = 0;
  core::Hash block_id{};
  core::Hash result{};
};

struct SearchResult {
  std::vector<Found> found;
  std::uint64_t hashes_done = 0;
};

struct WorkerOptions {
  unsigned threads = 0;      // CPU: 0 = one per allowed core
  std::string kernel;        // empty = the fastest this device supports
  bool pin_threads = true;
  int nice = 0;              // CPU: nice level of the hashing threads (0-19; 19 takes idle cores only)
  std::uint64_t batch = 0;   // GPU: nonces per launch; 0 = the autotuned value
  bool autotune = true;      // GPU with batch 0: tune on first use (false: a safe default)
};

class Worker {
 public:
  virtual ~Worker() = default;
  virtual const DeviceInfo& device() const = 0;
  virtual std::string kernel_name() const = 0;
  virtual unsigned parallelism() const = 0;  // threads, or nonces in flight for a GPU
  // Builds or uploads the 16 MiB cache for seed; cheap when already prepared.
  virtual Status prepare(const core::Hash& seed) = 0;
  // Hashes nonces [nonce_start, nonce_start + count) (wrapping at 2^64) and returns those
  // whose result meets target. Stops early, reporting what was done, once *stop is set.
  virtual Status search(const SearchJob& job, std::uint64_t nonce_start, std::uint64_t count,
                        const core::Target256& target, SearchResult& out,
                        const std::atomic<bool>* stop = nullptr) = 0;
  // One result for the prepared seed, for checks.
  virtual Status hash(const core::Hash& block_id, core::Hash& result) = 0;
  // Known answers on this device with its real kernel; the report says what was run.
  virtual Status self_test(std::string& report) = 0;
  // Hashes completed since the worker was made, updated while search runs.
  virtual std::uint64_t hashes_total() const = 0;
};

class Device {
 public:
  virtual ~Device() = default;
  virtual const DeviceInfo& info() const = 0;
  virtual Status create_worker(const WorkerOptions& options, std::unique_ptr<Worker>& out) = 0;
};

// A run-time module (the CUDA backend) passes these types across the boundary, so the
// host refuses a module whose view of them differs: API version and type sizes.
constexpr std::uint64_t module_abi();

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;
  virtual int api_version() const { return kApiVersion; }
  virtual std::vector<std::shared_ptr<Device>> devices() = 0;
  // Why the backend found nothing or is limited, one line each.
  virtual std::vector<std::string> notes() const { return {}; }
};

constexpr std::uint64_t module_abi() {
  return (std::uint64_t{kApiVersion} << 48) ^ (std::uint64_t{sizeof(DeviceInfo)} << 36) ^
         (std::uint64_t{sizeof(WorkerOptions)} << 24) ^ (std::uint64_t{sizeof(SearchJob)} << 12) ^
         std::uint64_t{sizeof(SearchResult) + sizeof(Status) + sizeof(Found)};
}

}  // namespace tensority::kernels::hal
