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
    client_ = std::make_unique<noderpc::Client>(*url, options_.bearer_token, options_.request_timeout);
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

void NodeSession::publish(const noderpc::Work& node_work, bool new_block) {
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
  if (events_.on_work) events_.on_work(std::move(w));
}

core::Result<bool> NodeSession::open(const SessionEvents& events) {
  using R = core::Result<bool>;
  events_ = events;
  if (!url_error_.empty()) return R::failure(options_.url + ": " + url_error_);
  // The submitter first: a block can be found within milliseconds of the first work.
  {
    std::lock_guard lock(mutex_);  // submit() looks at the thread under this lock
    submitter_ = std::thread([this] { submit_loop(); });
  }
  noderpc::WorkWatcherOptions w;
  w.long_poll = options_.long_poll;
  w.poll_interval = options_.poll_interval;
  w.refresh_interval = options_.refresh_interval;
  w.max_failures = options_.max_failures;
  watcher_ = std::make_unique<noderpc::WorkWatcher>(
      *client_, w, [this](const noderpc::Work& work, bool new_block) { publish(work, new_block); },
      [this](bool warning, const std::string& line) { log(warning ? LogLevel::warn : LogLevel::info, "solo: " + line); });
  return watcher_->open();
}

std::string NodeSession::run() {
  if (!watcher_) return "node session not open";
  return watcher_->run();
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
      watcher_->fetch_now(false);
    } else {
      reply.message = verdict->message;
      reply.status = contains_any(verdict->message, {"stale", "orphan", "changed", "side chain", "already known"})
                         ? SubmitStatus::stale
                         : SubmitStatus::rejected;
    }
    if (reply.status != SubmitStatus::accepted) {
      // The miner stops hashing solo work once it found a block in it; if that block did not
      // make it, fresh work must come now, not at the next refresh.
      watcher_->fetch_now(true);
    }
    p.handler(reply);
  }
}

void NodeSession::close() {
  closing_.store(true);
  if (watcher_) watcher_->close();
  std::lock_guard lock(mutex_);
  cv_.notify_all();
}

}  // namespace tensority::miner
