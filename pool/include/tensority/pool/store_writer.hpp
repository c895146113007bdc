#pragma once
// The one thread that talks to the Store. Accepted shares are written in batches (one
// transaction per batch, so hundreds of shares a second cost a handful of commits) and a
// share's reply goes out only after its batch committed: a miner told "OK" has a share on
// disk. Anything else (blocks, balances, API queries, payouts) runs as a task on the same
// thread, in order, so no two callers ever use the Store at once.
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>

#include "tensority/pool/store.hpp"

namespace tensority::pool {

class StoreWriter {
 public:
  using ShareDone = std::function<void(core::Result<std::int64_t> share_id)>;
  static constexpr std::size_t kMaxBatch = 1024;

  explicit StoreWriter(std::unique_ptr<Store> store);
  ~StoreWriter();  // stop()

  // Queues a share (and its PPS credit); done gets its id once committed, or the error.
  void add_share(ShareRecord share, std::optional<BalanceDelta> credit, ShareDone done);

  // Runs f(Store&) on the writer thread and answers what it returns.
  template <class F>
  auto call(F f) -> std::future<std::invoke_result_t<F, Store&>> {
    using T = std::invoke_result_t<F, Store&>;
    auto task = std::make_shared<std::packaged_task<T(Store&)>>(std::move(f));
    auto future = task->get_future();
    post([task](Store& s) { (*task)(s); });
    return future;
  }

  // Finishes what is queued, then joins; idempotent. Later calls fail.
  void stop();
  std::string_view backend() const { return backend_; }

 private:
  struct PendingShare {
    ShareRecord share;
    std::optional<BalanceDelta> credit;
    ShareDone done;
  };
  void post(std::function<void(Store&)> task);
  void run();
  void write_shares(std::deque<PendingShare>& batch);

  std::unique_ptr<Store> store_;
  std::string backend_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<PendingShare> shares_;
  std::deque<std::function<void(Store&)>> tasks_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace tensority::pool
