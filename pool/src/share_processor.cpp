#include "tensority/pool/share_processor.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>

namespace tensority::pool {

ShareProcessor::ShareProcessor(ProcessorOptions options, kernels::hal::HostHasher hasher, AcceptedFn on_accepted)
    : options_(options), hasher_(std::move(hasher)), on_accepted_(std::move(on_accepted)) {
  const unsigned n = std::max(1u, options_.threads);
  for (unsigned i = 0; i < n; ++i) threads_.emplace_back([this] { run(); });
}

ShareProcessor::~ShareProcessor() { stop(); }

void ShareProcessor::handle(Submission submission, Done done) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_ && queue_.size() < options_.max_queue) {
      queue_.emplace_back(std::move(submission), std::move(done));
      cv_.notify_one();
      return;
    }
  }
  SubmitResult busy;
  busy.verdict = SubmitVerdict::busy;
  busy.message = "pool busy: too many shares waiting to be checked";
  done(std::move(busy));
}

void ShareProcessor::stop() {
  std::deque<std::pair<Submission, Done>> left;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    left.swap(queue_);
    cv_.notify_all();
  }
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  for (auto& [s, done] : left) {
    SubmitResult busy;
    busy.verdict = SubmitVerdict::busy;
    busy.message = "pool shutting down";
    done(std::move(busy));
  }
}

std::size_t ShareProcessor::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void ShareProcessor::run() {
  // Checks are bulk work; the I/O threads' job broadcasts are what must not wait. A nicer
  // thread yields the core to them when both want it (Linux: nice is per thread).
  (void)setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 10);
  for (;;) {
    std::pair<Submission, Done> item;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    auto& [s, done] = item;
    const ShareCheck check = check_share(s.job, s.nonce, s.claimed_result, hasher_, duplicates_);
    ++checked_;
    SubmitResult r;
    switch (check.verdict) {
      case ShareVerdict::share:
      case ShareVerdict::block:
        on_accepted_(s, check, std::move(done));
        continue;
      case ShareVerdict::low_difficulty:
        r.verdict = SubmitVerdict::low_difficulty;
        break;
      case ShareVerdict::duplicate:
        r.verdict = SubmitVerdict::duplicate;
        break;
      case ShareVerdict::wrong_result:
        r.verdict = SubmitVerdict::wrong_result;
        break;
    }
    done(std::move(r));
  }
}

}  // namespace tensority::pool
