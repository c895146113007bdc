#include "tensority/node/rpc_api.hpp"

#include <algorithm>
#include <array>

#include "rpc/common.hpp"
#include "tensority/core/hex.hpp"

namespace tensority::node {
namespace {

using core::to_hex;
using rpc::json;

struct MethodEntry {
  std::string_view name;
  rpc::Method run;
};

// Every method but wait-new-block (a long-poll, answered from install's route), grouped as
// docs/rpc.md groups them; the functions live in rpc/<area>.cpp.
constexpr std::array kMethods{
    // mining (rpc/mining.cpp)
    MethodEntry{"get-work", rpc::get_work},
    MethodEntry{"get-work-json", rpc::get_work_json},
    MethodEntry{"submit-work", rpc::submit_work},
    MethodEntry{"submit-work-json", rpc::submit_work_json},
    MethodEntry{"submit-block", rpc::submit_block},
    MethodEntry{"is-mining", rpc::is_mining},
    MethodEntry{"generate", rpc::generate},
    // chain queries (rpc/blocks.cpp, rpc/network.cpp)
    MethodEntry{"get-block", rpc::get_block},
    MethodEntry{"get-raw-block", rpc::get_raw_block},
    MethodEntry{"get-block-header", rpc::get_block_header},
    MethodEntry{"get-block-hash", rpc::get_block_hash},
    MethodEntry{"get-block-count", rpc::get_block_count},
    MethodEntry{"get-difficulty", rpc::get_difficulty},
    MethodEntry{"get-hash-rate", rpc::get_hash_rate},
    MethodEntry{"net-info", rpc::net_info},
    // transactions and outputs (rpc/transactions.cpp)
    MethodEntry{"submit-transaction", rpc::submit_transaction},
    MethodEntry{"get-unspent-outputs", rpc::get_unspent_outputs},
    MethodEntry{"get-mempool", rpc::get_mempool},
    MethodEntry{"get-transaction", rpc::get_transaction},
};
constexpr std::string_view kWaitNewBlock = "wait-new-block";

const MethodEntry* find_method(std::string_view name) {
  auto it = std::find_if(kMethods.begin(), kMethods.end(), [&](const MethodEntry& m) { return m.name == name; });
  return it == kMethods.end() ? nullptr : &*it;
}

}  // namespace

std::vector<std::string> RpcApi::methods() {
  std::vector<std::string> names;
  for (const MethodEntry& m : kMethods) names.emplace_back(m.name);
  names.emplace_back(kWaitNewBlock);
  return names;
}

net::HttpResponse RpcApi::unknown_path() {
  const json j{{"code", "BTM000"}, {"msg", "Bytom API Error"}, {"status", "fail"}, {"detail", "not Found"},
               {"temporary", true}};
  return {500, "application/json", j.dump()};
}

RpcApi::RpcApi(RpcContext context) : ctx_(std::move(context)) {
  waiter_thread_ = std::thread([this] { waiter_loop(); });
}

RpcApi::~RpcApi() {
  stop();
  if (waiter_thread_.joinable()) waiter_thread_.join();
}

void RpcApi::stop() {
  stopping_ = true;
}

net::HttpResponse RpcApi::tip_response() const {
  const TipInfo t = ctx_.chain->tip();
  return rpc::envelope_ok(json{{"hash", to_hex(t.id)}, {"height", t.height}});
}

// One thread answers every long-poll: woken by tip changes (through the chain's wait) and
// by new waiters, it answers those whose tip moved on and those whose time is up.
void RpcApi::waiter_loop() {
  core::Hash last{};
  while (!stopping_) {
    const TipInfo tip = ctx_.chain->wait_for_tip_change(last, std::chrono::milliseconds(100));
    last = tip.id;
    std::vector<net::Respond> due;
    {
      std::lock_guard lock(waiters_mutex_);
      const auto now = std::chrono::steady_clock::now();
      std::erase_if(waiters_, [&](Waiter& w) {
        if (w.after != tip.id || now >= w.deadline) {
          due.push_back(std::move(w.respond));
          return true;
        }
        return false;
      });
    }
    for (auto& respond : due) respond(tip_response());
  }
  std::vector<Waiter> rest;
  {
    std::lock_guard lock(waiters_mutex_);
    rest.swap(waiters_);
  }
  for (auto& w : rest) w.respond(tip_response());
}

void RpcApi::install(net::HttpServer& server) {
  server.route("GET", "/", [this](const net::HttpRequest&, net::Respond respond) {
    const TipInfo t = ctx_.chain->tip();
    respond(rpc::envelope_ok(json{{"name", "tensority node"},
                                  {"version", ctx_.version},
                                  {"network", ctx_.chain->params().name},
                                  {"height", t.height}}));
  });
  for (const MethodEntry& m : kMethods) {
    const std::string name(m.name);
    // Any HTTP method, as bytomd (it never looks at the method).
    server.route("/" + name, [this, name](const net::HttpRequest& req, net::Respond respond) {
      respond(call(name, req.body));
    });
  }
  std::string wait_path = "/";
  wait_path += kWaitNewBlock;
  server.route(wait_path, [this](const net::HttpRequest& req, net::Respond respond) {
    try {
      const json body = rpc::parse_body(req.body);
      core::Hash after{};
      if (auto a = rpc::opt_str(body, "after_hash")) after = rpc::req_hash(*a, "after_hash");
      const std::uint64_t timeout_ms = std::min<std::uint64_t>(rpc::opt_u64(body, "timeout_ms").value_or(30'000), 120'000);
      if (ctx_.chain->tip().id != after || timeout_ms == 0 || stopping_) {
        respond(tip_response());
        return;
      }
      std::lock_guard lock(waiters_mutex_);
      waiters_.push_back(
          Waiter{after, std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms), std::move(respond)});
    } catch (const rpc::RpcError& e) {
      respond(rpc::envelope_fail(e));
    }
  });
}

net::HttpResponse RpcApi::call(std::string_view method, std::string_view body_text) {
  const MethodEntry* m = find_method(method);
  if (m == nullptr && method != kWaitNewBlock) return unknown_path();
  try {
    const json body = rpc::parse_body(body_text);
    if (m == nullptr) return tip_response();  // wait-new-block, answered at once
    return rpc::envelope_ok(m->run(rpc::Call{ctx_, body, stopping_}));
  } catch (const rpc::RpcError& e) {
    return rpc::envelope_fail(e);
  } catch (const json::exception& e) {
    return rpc::envelope_fail(rpc::RpcError{true, std::string("bad request: ") + e.what()});
  }
}

}  // namespace tensority::node
