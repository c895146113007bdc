#pragma once
// Share checking off the I/O threads: a bounded queue and a few threads that each compute one
// Tensority hash per submit (check_share). What happens to an accepted share (storing it,
// submitting a block) is the owner's hook; a full queue answers "busy" at once rather than
// letting replies fall minutes behind.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "tensority/kernels/hal/checked_worker.hpp"
#include "tensority/pool/server.hpp"
#include "tensority/pool/share_check.hpp"

namespace tensority::pool {

struct ProcessorOptions {
  unsigned threads = 1;
  std::size_t max_queue = 4096;
};

class ShareProcessor : public ShareHandler {
 public:
  using Done = std::function<void(SubmitResult)>;
  // For shares that met the share target (check.verdict share or block): must call done.
  using AcceptedFn = std::function<void(const Submission&, const ShareCheck&, Done done)>;

  ShareProcessor(ProcessorOptions options, kernels::hal::HostHasher hasher, AcceptedFn on_accepted);
  ~ShareProcessor() override;  // stop()

  void handle(Submission submission, Done done) override;
  // Answers what is queued as busy and joins the threads; idempotent.
  void stop();
  // Templates older than this are forgotten by the duplicate filter.
  void forget_before(std::uint64_t template_id) { duplicates_.forget_before(template_id); }

  std::uint64_t checked() const { return checked_; }
  std::size_t queued() const;

 private:
  void run();

  ProcessorOptions options_;
  kernels::hal::HostHasher hasher_;
  AcceptedFn on_accepted_;
  DuplicateFilter duplicates_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::pair<Submission, Done>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
  std::atomic<std::uint64_t> checked_{0};
};

}  // namespace tensority::pool
