#include "tensority/node/node.hpp"

#include "tensority/core/hex.hpp"
#include "tensority/net/http.hpp"
#include "tensority/node/block_template.hpp"
#include "tensority/node/mempool.hpp"
#include "tensority/node/rpc_api.hpp"

namespace tensority::node {

// Members in the order they are built; they are torn down in reverse, after stop().
struct Node::Impl {
  std::unique_ptr<Chain> chain;
  std::unique_ptr<Mempool> mempool;
  std::unique_ptr<TemplateManager> templates;
  std::unique_ptr<RpcApi> api;
  std::unique_ptr<net::HttpServer> server;
  std::uint16_t port = 0;
  bool stopped = false;
};

core::Result<std::unique_ptr<Node>> Node::start(const NodeOptions& o, LogFn log) {
  using R = core::Result<std::unique_ptr<Node>>;
  auto d = std::make_unique<Impl>();
  ChainOptions copt;  // the chain store creates the data directory when it is missing
  copt.data_dir = o.data_dir;
  copt.check_pow = true;
  copt.pow_threads = o.pow_threads;
  auto chain = Chain::open(chain::chain_params(o.network), copt);
  if (!chain) return R::failure(o.data_dir.string() + ": " + chain.error());
  d->chain = std::move(chain).value();
  d->mempool = std::make_unique<Mempool>(*d->chain);
  d->templates = std::make_unique<TemplateManager>(*d->chain, *d->mempool, o.mining_program);
  d->chain->on_update([mempool = d->mempool.get(), log](const ChainUpdate& u) {
    mempool->on_chain_update(u);
    if (!log) return;
    for (const chain::Block& b : u.detached) {
      log("detached block " + core::to_hex(core::block_id(b.header)) + " at height " + std::to_string(b.header.height));
    }
    for (const chain::Block& b : u.attached) {
      log("block " + core::to_hex(core::block_id(b.header)) + " height " + std::to_string(b.header.height) + " (" +
          std::to_string(b.transactions.size()) + " transactions)");
    }
  });
  d->api = std::make_unique<RpcApi>(
      RpcContext{d->chain.get(), d->mempool.get(), d->templates.get(), o.mining_program, o.mining_threads, o.version});
  net::HttpServerOptions http;
  http.bind_address = o.rpc_bind;
  http.port = o.rpc_port;
  http.bearer_token = o.rpc_token;
  http.max_body_bytes = o.rpc_max_body;
  http.threads = 4;  // long-polls and generate calls must not starve get-work
  http.not_found = [](const net::HttpRequest&, net::Respond respond) { respond(RpcApi::unknown_path()); };
  d->server = std::make_unique<net::HttpServer>(http);
  d->api->install(*d->server);
  auto bound = d->server->start();
  if (!bound) {
    d->api->stop();
    d->chain->close();
    return R::failure("rpc: " + bound.error());
  }
  d->port = *bound;
  return std::unique_ptr<Node>(new Node(std::move(d)));
}

Node::Node(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Node::~Node() { stop(); }

std::uint16_t Node::rpc_port() const { return impl_->port; }

Chain& Node::chain() { return *impl_->chain; }

void Node::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->api->stop();
  impl_->server->stop();
  impl_->chain->close();
}

}  // namespace tensority::node
