#include "tensority/miner/node_session.hpp"

#include <random>


namespace tensority::miner {
namespace {

using Clock = std::chrono::steady_clock;

bool contains_any(const std::string& text, std::initializer_list<std::string_view> words) {
  for (auto w : words) {
    if (text.find(w) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

NodeSession::NodeSession(NodeSessionOptions options) : options_(std::move(options)) {
  auto url = net::parse_url(options_.url);
  if (url) {
    client_ = std::make_unique<net::NodeClient>(*url, options_.bearer_token, options_.request_timeout);
  } else {
    url_error_ = url.error();
  }
}

NodeSession::~NodeSession() {
  close();
  if (submitter_.joinable()) submitter_.join();
}

std::string NodeSession::describe() const { return options_.url; }

void NodeSession::log(LogLevel level, const std::string& message) const {
  if (events_.log) events_.log(level, "net", message);
}

void NodeSession::publish(const net::NodeWork& node_work, bool new_block) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  auto w = std::make_shared<Work>();
  w->upstream = options_.url;
  w->job_id = std::to_string(++job_counter_);
  w->header = node_work.header;
  w->header.nonce = 0;
  w->seed = node_work.seed;
  // The node gives no nonce range; a random start keeps two rigs on one node (and one
  // template within the same second) from searching the same nonces. The header's wire
  // form stores the nonce as a varint63, so no nonce at or above 2^63 can ever be a block:
  // the range stays below it.
  w->nonce_start = rng() >> 2;
  w->nonce_span = std::uint64_t{1} << 62;
  w->block_target = core::Target256::from_bits(node_work.header.bits);
  w->share_target = w->block_target;
  w->new_block = new_block;
  w->received = Clock::now();
  current_parent_ = node_work.header.previous_block_id;
  last_template_ = w->received;
  if (events_.on_work) events_.on_work(std::move(w));
}

core::Result<bool> NodeSession::open(const SessionEvents& events) {
  using R = core::Result<bool>;
  events_ = events;
  if (!url_error_.empty()) return R::failure(options_.url + ": " + url_error_);
  auto work = client_->get_work();
  if (!work) return R::failure(work.error());
  // Probe the push channels once: ours (wait-new-block), then bytomd's websocket; a node
  // with neither is polled.
  auto probe = client_->wait_new_block(work->header.previous_block_id, std::chrono::milliseconds(0));
  if (probe) {
    push_ = Push::long_poll;
  } else if (probe.error() == "unsupported" && (ws_ = client_->subscribe_new_blocks()) != nullptr) {
    push_ = Push::websocket;
  } else {
    if (probe.error() != "unsupported") log(LogLevel::warn, options_.url + ": " + probe.error() + "; polling get-work instead");
    push_ = Push::none;
  }
  const char* how = push_ == Push::long_poll   ? ", new blocks pushed (wait-new-block)"
                    : push_ == Push::websocket ? ", new blocks pushed (websocket-subscribe)"
                                               : nullptr;
  log(LogLevel::info, options_.url + ": solo mining at height " + std::to_string(work->header.height) +
                          (how != nullptr ? std::string(how)
                                          : ", polling get-work every " + std::to_string(options_.poll_interval.count()) + " ms"));
  // The submitter first: a block can be found within milliseconds of the first work.
  {
    std::lock_guard lock(mutex_);  // submit() looks at the thread under this lock
    submitter_ = std::thread([this] { submit_loop(); });
  }
  publish(*work, true);
  return true;
}

std::string NodeSession::run() {
  unsigned failures = 0;
  std::string why;
  while (!closing_.load()) {
    bool fetch = false;
    if (wake_.exchange(false)) {
      fetch = true;
    } else if (push_ == Push::long_poll) {
      auto changed = client_->wait_new_block(current_parent_, options_.long_poll);
      if (!changed) {
        why = changed.error();
      } else {
        fetch = changed->has_value() || Clock::now() - last_template_ >= options_.refresh_interval;
        why.clear();
      }
    } else if (push_ == Push::websocket) {
      // Short reads so close() is noticed; the read stays pending between them.
      auto message = ws_->read(std::chrono::milliseconds(500));
      if (!message) {
        log(LogLevel::warn, options_.url + ": " + message.error() + "; polling get-work instead");
        ws_.reset();
        push_ = Push::none;
        continue;
      }
      fetch = (message->has_value() && (*message)->find("raw_blocks_connected") != std::string::npos) ||
              Clock::now() - last_template_ >= options_.refresh_interval;
    } else {
      std::unique_lock lock(mutex_);
      cv_.wait_for(lock, options_.poll_interval, [&] { return closing_.load() || wake_.load(); });
      fetch = true;
    }
    if (closing_.load()) break;
    if (why.empty() && fetch) {
      auto work = client_->get_work();
      if (work) {
        const bool new_block = work->header.previous_block_id != current_parent_;
        // Polling sees the same template many times; only a new block or the refresh
        // interval makes new work, so devices are not restarted twice a second.
        if (new_block || force_publish_.exchange(false) || Clock::now() - last_template_ >= options_.refresh_interval) {
          publish(*work, new_block);
        }
      } else {
        why = work.error();
      }
    }
    if (!why.empty()) {
      if (++failures >= options_.max_failures) return "node unreachable: " + why;
      log(LogLevel::warn, options_.url + ": " + why + " (" + std::to_string(failures) + "/" +
                              std::to_string(options_.max_failures) + ")");
      std::unique_lock lock(mutex_);
      cv_.wait_for(lock, std::chrono::seconds(1), [&] { return closing_.load(); });
      why.clear();
    } else {
      failures = 0;
    }
  }
  return "closed";
}

void NodeSession::submit(const Solution& solution, SubmitHandler handler) {
  {
    std::lock_guard lock(mutex_);
    if (!submitter_done_ && submitter_.joinable()) {
      queue_.push_back(Pending{solution, std::move(handler)});
      cv_.notify_all();
      return;
    }
  }
  handler(SubmitReply{SubmitStatus::lost, "the session is closed", {}});
}

void NodeSession::submit_loop() {
  for (;;) {
    Pending p;
    {
      std::unique_lock lock(mutex_);
      // Submissions already queued are still sent after close(): Ctrl-C finishes them.
      cv_.wait(lock, [&] { return !queue_.empty() || closing_.load(); });
      if (queue_.empty()) {
        submitter_done_ = true;
        return;
      }
      p = std::move(queue_.front());
      queue_.pop_front();
    }
    core::BlockHeader header = p.solution.work->header;
    header.nonce = p.solution.nonce;
    const auto t0 = Clock::now();
    auto verdict = client_->submit_work(header);
    SubmitReply reply;
    reply.latency = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
    if (!verdict) {
      reply.status = SubmitStatus::lost;
      reply.message = verdict.error();
    } else if (verdict->success) {
      reply.status = SubmitStatus::accepted;
      reply.message = "block accepted by the node";
      wake_.store(true);
      cv_.notify_all();
    } else {
      reply.message = verdict->message;
      reply.status = contains_any(verdict->message, {"stale", "orphan", "changed", "side chain", "already known"})
                         ? SubmitStatus::stale
                         : SubmitStatus::rejected;
    }
    if (reply.status != SubmitStatus::accepted) {
      // The miner stops hashing solo work once it found a block in it; if that block did not
      // make it, fresh work must come now, not at the next refresh.
      force_publish_.store(true);
      wake_.store(true);
      cv_.notify_all();
    }
    p.handler(reply);
  }
}

void NodeSession::close() {
  closing_.store(true);
  std::lock_guard lock(mutex_);
  cv_.notify_all();
}

}  // namespace tensority::miner
