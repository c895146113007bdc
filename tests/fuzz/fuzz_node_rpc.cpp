// RPC request bodies from any client: the first byte picks a method, the rest is the body.
// Every answer is a JSON envelope (success or a one-line failure), nothing crashes, and a
// request that is refused leaves the chain where it was.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "fuzz_check.hpp"
#include "tensority/node/block_template.hpp"
#include "tensority/node/chain.hpp"
#include "tensority/node/mempool.hpp"
#include "tensority/node/rpc_api.hpp"

namespace {

using namespace tensority::node;

struct Node {
  std::filesystem::path dir;
  std::unique_ptr<Chain> chain;
  std::unique_ptr<Mempool> mempool;
  std::unique_ptr<TemplateManager> templates;
  std::unique_ptr<RpcApi> api;

  Node() {
    dir = std::filesystem::temp_directory_path() / ("tensority-fuzz-rpc-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    ChainOptions o;
    o.data_dir = dir;
    o.pow_threads = 1;
    chain = std::move(Chain::open(tensority::chain::chain_params(tensority::chain::Network::regtest), o)).value();
    mempool = std::make_unique<Mempool>(*chain);
    // A mining program so get-work answers; OP_TRUE keeps it independent of any key.
    templates = std::make_unique<TemplateManager>(*chain, *mempool, tensority::core::wire::Bytes{0x51});
    api = std::make_unique<RpcApi>(RpcContext{chain.get(), mempool.get(), templates.get(), {}, 1, "fuzz"});
  }
  ~Node() {
    api.reset();
    templates.reset();
    mempool.reset();
    chain.reset();
    std::filesystem::remove_all(dir);
  }
};

// generate is left out: it mines, which is slow, not a parser.
const char* const kMethods[] = {"submit-block", "submit-work", "submit-work-json", "submit-transaction",
                                "get-block", "get-raw-block", "get-block-header", "get-block-hash",
                                "get-difficulty", "get-hash-rate", "get-unspent-outputs", "get-transaction",
                                "get-work", "get-work-json", "get-block-count", "net-info"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Node node;
  if (size == 0) return 0;
  const char* method = kMethods[data[0] % (sizeof kMethods / sizeof kMethods[0])];
  const std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto tip_before = node.chain->tip().id;
  const auto response = node.api->call(method, body);
  const auto j = nlohmann::json::parse(response.body, nullptr, false);
  FUZZ_CHECK(!j.is_discarded() && j.is_object());
  const std::string status = j.value("status", "");
  FUZZ_CHECK(status == "success" || status == "fail");
  if (status == "fail") {
    const std::string msg = j.value("msg", "");
    FUZZ_CHECK(!msg.empty() && msg.find('\n') == std::string::npos);
    FUZZ_CHECK(node.chain->tip().id == tip_before);
  }
  return 0;
}
