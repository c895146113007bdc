#include "tensority/kernels/hal/checked_worker.hpp"

namespace tensority::kernels::hal {

CheckedWorker::CheckedWorker(std::unique_ptr<Worker> inner, HostHasher host)
    : inner_(std::move(inner)), host_(std::move(host)) {}

Status CheckedWorker::search(const SearchJob& job, std::uint64_t nonce_start, std::uint64_t count,
                             const core::Target256& target, SearchResult& out,
                             const std::atomic<bool>* stop) {
  SearchResult raw;
  Status st = inner_->search(job, nonce_start, count, target, raw, stop);
  out.hashes_done += raw.hashes_done;
  for (const Found& f : raw.found) {
    counters_.found.fetch_add(1, std::memory_order_relaxed);
    // Recompute everything from the job: the block ID as well as the result, so a device
    // that hashed the wrong header is caught too.
    const core::Hash id = job.block_id(f.nonce);
    const core::Hash result = host_(job.seed, id);
    if (id != f.block_id || result != f.result || !target.met_by(result)) {
      counters_.hardware_errors.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    counters_.verified.fetch_add(1, std::memory_order_relaxed);
    out.found.push_back(f);
  }
  return st;
}

}  // namespace tensority::kernels::hal
