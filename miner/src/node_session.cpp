#include "tensority/miner/node_session.hpp"

#include <random>

#include <nlohmann/json.hpp>

#include "tensority/core/hex.hpp"

namespace tensority::miner {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

bool contains_any(const std::string& text, std::initializer_list<std::string_view> words) {
  for (auto w : words) {
    if (text.find(w) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

NodeReply parse_node_reply(std::string_view body) {
  NodeReply r;
  const json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    r.message = "the node's reply is not JSON";
    return r;
  }
  const auto status = j.find("status");
  if (status != j.end() && status->is_string() && *status == "success") {
    r.success = true;
    return r;
  }
  for (const char* key : {"msg", "error_detail"}) {
    const auto it = j.find(key);
    if (it == j.end() || !it->is_string()) continue;
    const std::string text = it->get<std::string>();
    if (text.empty() || r.message.find(text) != std::string::npos) continue;
    r.message += (r.message.empty() ? "" : ": ") + text;
  }
  if (r.message.empty()) r.message = "the node said no and gave no reason";
  return r;
}

core::Result<NodeWork> parse_get_work_reply(std::string_view body) {
  using R = core::Result<NodeWork>;
  const json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return R::failure("get-work: the reply is not a JSON object");
  const NodeReply reply = parse_node_reply(body);
  if (!reply.success) return R::failure("get-work: " + reply.message);
  const auto data = j.find("data");
  if (data == j.end() || !data->is_object()) return R::failure("get-work: the reply has no data object");
  const auto header_hex = data->find("block_header");
  const auto seed_hex = data->find("seed");
  if (header_hex == data->end() || !header_hex->is_string()) return R::failure("get-work: data.block_header is not a string");
  if (seed_hex == data->end() || !seed_hex->is_string()) return R::failure("get-work: data.seed is not a string");
  const auto bytes = core::from_hex(header_hex->get<std::string>());
  if (!bytes) return R::failure("get-work: block_header: " + bytes.error());
  auto parsed = core::parse_header(*bytes, true);
  if (!parsed) return R::failure("get-work: block_header: " + parsed.error());
  if (parsed->serflag != core::kSerFlagHeader) return R::failure("get-work: block_header has serialization flag " + std::to_string(parsed->serflag) + ", not 1");
  const auto seed = core::hash_from_hex(seed_hex->get<std::string>());
  if (!seed) return R::failure("get-work: seed: " + seed.error());
  return NodeWork{std::move(parsed->header), *seed};
}

NodeSession::NodeSession(NodeSessionOptions options) : options_(std::move(options)) {
  auto url = net::parse_url(options_.url);
  if (url) {
    url_ = *url;
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

core::Result<NodeWork> NodeSession::get_work() {
  net::HttpClientOptions o;
  o.timeout = options_.request_timeout;
  o.bearer_token = options_.bearer_token;
  auto response = net::http_post(url_, "/get-work", "{}", o);
  if (!response) return core::Result<NodeWork>::failure("get-work: " + response.error());
  if (response->status == 401) return core::Result<NodeWork>::failure("get-work: the node wants a token (--node-token)");
  return parse_get_work_reply(response->body);
}

void NodeSession::publish(const NodeWork& node_work, bool new_block) {
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

core::Result<std::optional<core::Hash>> NodeSession::wait_new_block(const core::Hash& after,
                                                                     std::chrono::milliseconds wait) {
  using R = core::Result<std::optional<core::Hash>>;
  net::HttpClientOptions o;
  o.timeout = options_.request_timeout + wait;
  o.bearer_token = options_.bearer_token;
  const json body{{"after_hash", core::to_hex(after)}, {"timeout_ms", wait.count()}};
  auto response = net::http_post(url_, "/wait-new-block", body.dump(), o);
  if (!response) return R::failure("wait-new-block: " + response.error());
  if (response->status == 404) return R::failure("unsupported");
  const json j = json::parse(response->body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("data") || !j["data"].is_object() ||
      !j["data"].contains("hash") || !j["data"]["hash"].is_string()) {
    const NodeReply reply = parse_node_reply(response->body);
    return R::failure("wait-new-block: " + (reply.success ? std::string("no hash in the reply") : reply.message));
  }
  const auto hash = core::hash_from_hex(j["data"]["hash"].get<std::string>());
  if (!hash) return R::failure("wait-new-block: hash: " + hash.error());
  if (*hash == after) return std::optional<core::Hash>{};
  return std::optional<core::Hash>{*hash};
}

bool NodeSession::subscribe_websocket() {
  auto ws = std::make_unique<net::WebSocketClient>();
  if (!ws->connect(url_, "/websocket-subscribe", options_.request_timeout, options_.bearer_token)) return false;
  if (!ws->send(R"({"topic":"notify_raw_blocks"})", options_.request_timeout)) return false;
  ws_ = std::move(ws);
  return true;
}

core::Result<bool> NodeSession::open(const SessionEvents& events) {
  using R = core::Result<bool>;
  events_ = events;
  if (!url_error_.empty()) return R::failure(options_.url + ": " + url_error_);
  auto work = get_work();
  if (!work) return R::failure(work.error());
  // Probe the push channels once: ours (wait-new-block), then bytomd's websocket; a node
  // with neither is polled.
  auto probe = wait_new_block(work->header.previous_block_id, std::chrono::milliseconds(0));
  if (probe) {
    push_ = Push::long_poll;
  } else if (probe.error() == "unsupported" && subscribe_websocket()) {
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
      auto changed = wait_new_block(current_parent_, options_.long_poll);
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
      auto work = get_work();
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
    const json body{{"block_header", core::to_hex(core::serialize_header(header))}};
    net::HttpClientOptions o;
    o.timeout = options_.request_timeout;
    o.bearer_token = options_.bearer_token;
    const auto t0 = Clock::now();
    auto response = net::http_post(url_, "/submit-work", body.dump(), o);
    SubmitReply reply;
    reply.latency = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
    if (!response) {
      reply.status = SubmitStatus::lost;
      reply.message = response.error();
    } else {
      const NodeReply r = parse_node_reply(response->body);
      if (r.success) {
        reply.status = SubmitStatus::accepted;
        reply.message = "block accepted by the node";
        wake_.store(true);
        cv_.notify_all();
      } else {
        reply.message = r.message;
        reply.status = contains_any(r.message, {"stale", "orphan", "changed", "side chain", "already known"})
                           ? SubmitStatus::stale
                           : SubmitStatus::rejected;
      }
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
