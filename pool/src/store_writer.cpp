#include "tensority/pool/store_writer.hpp"

#include <vector>

namespace tensority::pool {

StoreWriter::StoreWriter(std::unique_ptr<Store> store)
    : store_(std::move(store)), backend_(store_->backend()), thread_([this] { run(); }) {}

StoreWriter::~StoreWriter() { stop(); }

void StoreWriter::add_share(ShareRecord share, std::optional<BalanceDelta> credit, ShareDone done) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      shares_.push_back(PendingShare{std::move(share), std::move(credit), std::move(done)});
      cv_.notify_one();
      return;
    }
  }
  done(core::Result<std::int64_t>::failure("the pool is shutting down"));
}

void StoreWriter::post(std::function<void(Store&)> task) {
  std::unique_lock lock(mutex_);
  if (stopping_) {
    lock.unlock();
    // Run it here rather than drop it: the writer thread has finished with the store.
    if (!thread_.joinable()) task(*store_);
    return;
  }
  tasks_.push_back(std::move(task));
  cv_.notify_one();
}

void StoreWriter::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void StoreWriter::write_shares(std::deque<PendingShare>& batch) {
  std::vector<ShareRecord> records;
  std::vector<BalanceDelta> credits;
  records.reserve(batch.size());
  for (auto& p : batch) {
    records.push_back(std::move(p.share));
    if (p.credit && p.credit->amount > 0) credits.push_back(*p.credit);
  }
  auto ids = store_->add_shares(records, credits);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (ids && i < ids->size()) {
      batch[i].done((*ids)[i]);
    } else {
      batch[i].done(core::Result<std::int64_t>::failure(ids ? "share not stored" : "share not stored: " + ids.error()));
    }
  }
}

void StoreWriter::run() {
  for (;;) {
    std::deque<PendingShare> batch;
    std::deque<std::function<void(Store&)>> tasks;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || !shares_.empty() || !tasks_.empty(); });
      if (shares_.empty() && tasks_.empty() && stopping_) return;
      while (!shares_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(std::move(shares_.front()));
        shares_.pop_front();
      }
      tasks.swap(tasks_);
    }
    // Shares first: a block's task may need the id of the share that found it.
    if (!batch.empty()) write_shares(batch);
    for (auto& t : tasks) t(*store_);
  }
}

}  // namespace tensority::pool
