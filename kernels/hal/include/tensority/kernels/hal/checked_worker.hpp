#pragma once
// Every nonce a device reports is re-verified on the host before it leaves the device
// layer. A mismatch is a hardware error: counted per device, logged by the caller, and the
// nonce is dropped.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

#include "tensority/kernels/hal/device.hpp"

namespace tensority::kernels::hal {

// Computes Tensority(block_id) for a seed on the host, independently of the device.
using HostHasher = std::function<core::Hash(const core::Hash& seed, const core::Hash& block_id)>;

struct DeviceCounters {
  std::atomic<std::uint64_t> found{0};
  std::atomic<std::uint64_t> verified{0};
  std::atomic<std::uint64_t> hardware_errors{0};
};

class CheckedWorker final : public Worker {
 public:
  CheckedWorker(std::unique_ptr<Worker> inner, HostHasher host);

  const DeviceCounters& counters() const { return counters_; }

  const DeviceInfo& device() const override { return inner_->device(); }
  std::string kernel_name() const override { return inner_->kernel_name(); }
  unsigned parallelism() const override { return inner_->parallelism(); }
  Status prepare(const core::Hash& seed) override { return inner_->prepare(seed); }
  Status search(const SearchJob& job, std::uint64_t nonce_start, std::uint64_t count,
                const core::Target256& target, SearchResult& out,
                const std::atomic<bool>* stop = nullptr) override;
  Status hash(const core::Hash& block_id, core::Hash& result) override { return inner_->hash(block_id, result); }
  Status self_test(std::string& report) override { return inner_->self_test(report); }
  std::uint64_t hashes_total() const override { return inner_->hashes_total(); }

 private:
  std::unique_ptr<Worker> inner_;
  HostHasher host_;
  DeviceCounters counters_;
};

}  // namespace tensority::kernels::hal
