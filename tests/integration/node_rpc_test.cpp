// The real `tensority node` process in regtest over loopback: generate, get-work and
// submit-work (hex and JSON), the bytomd request and response shapes, bad requests, the
// bearer token, the long-poll push channel, a reorg fed from a second node, and recovery
// after kill -9 at random moments during block connection and reorgs.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <future>
#include <random>

#include "node_harness.hpp"
#include "tensority/core/block_header.hpp"
#include "tensority/core/hex.hpp"
#include "tensority/node/pow_checker.hpp"

namespace tensority::test {
namespace {

using json = nlohmann::json;

// Mines a get-work header on the host: nonces until the Tensority result meets the bits.
core::BlockHeader solve(core::BlockHeader h, const core::Hash& seed) {
  node::PowChecker pow(2);
  for (;; ++h.nonce) {
    if (pow.check({{h, seed}})[0]) return h;
  }
}

TEST(NodeRpc, GenerateAndMiningEndpointsSpeakTheBytomdShapes) {
  TempDir dir("node");
  const std::string addr = regtest_address(1);
  NodeProcess node(dir.path, {"--mining-address", addr});

  const json gen = node.ok("generate", {{"count", 3}});
  ASSERT_EQ(gen["block_hashes"].size(), 3u);
  EXPECT_EQ(node.ok("get-block-count", json::object())["block_count"], 3);
  const json b1 = node.ok("get-block", {{"block_height", 1}});
  EXPECT_EQ(b1["height"], 1);
  EXPECT_EQ(b1["hash"], gen["block_hashes"][0]);
  EXPECT_EQ(b1["transactions"][0]["outputs"][0]["address"], addr);
  EXPECT_EQ(b1["transactions"][0]["outputs"][0]["amount"], 41'250'000'000ULL);
  EXPECT_EQ(b1["transactions"][0]["inputs"][0]["type"], "coinbase");
  EXPECT_EQ(b1["size"].get<std::uint64_t>() % 2, 0u);  // the hex length, as bytomd
  EXPECT_EQ(node.ok("get-block-hash", json::object())["block_hash"], gen["block_hashes"][2]);
  EXPECT_EQ(node.ok("get-difficulty", json::object())["height"], 0);  // genesis, as bytomd
  EXPECT_EQ(node.ok("get-hash-rate", json::object())["height"], 3);
  EXPECT_EQ(node.ok("get-hash-rate", {{"block_height", 0}})["height"], 3);  // 0 means the tip
  EXPECT_EQ(node.ok("get-hash-rate", {{"block_height", 2}})["height"], 2);
  EXPECT_TRUE(node.ok("get-hash-rate", json::object())["hash_rate"].is_number_unsigned());  // bytomd: an integer
  const json info = node.ok("net-info", json::object());
  EXPECT_EQ(info["network_id"], "regtest");
  EXPECT_EQ(info["network"], "regtest");
  EXPECT_TRUE(info["version_info"]["version"].is_string());
  EXPECT_EQ(info["version_info"]["update"], 0);
  EXPECT_EQ(info["current_block"], 3);
  const json raw3 = node.ok("get-raw-block", {{"block_height", 3}});
  EXPECT_EQ(raw3["transaction_status"], json::parse(R"({"version":1,"verify_status":[{}]})"));
  // bytomd's annotated inputs and outputs, field for field.
  const json& cb_in = b1["transactions"][0]["inputs"][0];
  for (const char* key : {"type", "asset_id", "asset_definition", "amount", "arbitrary", "input_id",
                          "witness_arguments", "sign_data"}) {
    EXPECT_TRUE(cb_in.contains(key)) << key << " in " << cb_in.dump();
  }
  EXPECT_EQ(cb_in["asset_id"], std::string(64, '0'));
  EXPECT_EQ(cb_in["sign_data"], std::string(64, '0'));
  EXPECT_TRUE(cb_in["witness_arguments"].is_null());
  EXPECT_EQ(cb_in["asset_definition"], json::object());
  EXPECT_EQ(b1["transactions"][0]["outputs"][0]["asset_definition"], json::object());
  // Any HTTP method, as bytomd; an unknown path is bytomd's HTTP 500 "not Found".
  auto got = net::http_get(node.url(), "/get-block-count", {});
  ASSERT_TRUE(got.ok()) << got.error();
  EXPECT_EQ(json::parse(got->body)["data"]["block_count"], 3);
  const net::HttpResponse unknown = node.post("wait-for-godot", "{}");
  EXPECT_EQ(unknown.status, 500u);
  EXPECT_EQ(json::parse(unknown.body),
            json::parse(R"({"code":"BTM000","msg":"Bytom API Error","status":"fail","detail":"not Found","temporary":true})"));
  const json header = node.ok("get-block-header", {{"block_hash", gen["block_hashes"][1]}});
  EXPECT_EQ(header["reward"], 41'250'000'000ULL);

  // get-work (hex) -> mine -> submit-work.
  const json work = node.ok("get-work", json::object());
  auto raw = core::from_hex(work["block_header"].get<std::string>());
  ASSERT_TRUE(raw.ok());
  auto parsed = core::parse_header(*raw, true);
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  EXPECT_EQ(parsed->header.height, 4u);
  const auto seed = *core::hash_from_hex(work["seed"].get<std::string>());
  const core::BlockHeader solved = solve(parsed->header, seed);
  EXPECT_EQ(node.ok("submit-work", {{"block_header", core::to_hex(core::serialize_header(solved))}}), true);
  EXPECT_EQ(node.ok("get-block-count", json::object())["block_count"], 4);

  // get-work-json: uint64 fields written exactly (bits exceed 2^53).
  const net::HttpResponse raw_json = node.post("get-work-json", "{}");
  EXPECT_NE(raw_json.body.find("\"bits\":2305843009214532812"), std::string::npos) << raw_json.body;
  const json wj = json::parse(raw_json.body)["data"];
  core::BlockHeader hj = parsed->header;
  hj.height = wj["block_header"]["height"];
  hj.previous_block_id = *core::hash_from_hex(wj["block_header"]["previous_block_hash"].get<std::string>());
  hj.timestamp = wj["block_header"]["timestamp"];
  hj.bits = wj["block_header"]["bits"];
  hj.nonce = 0;
  hj.transactions_merkle_root =
      *core::hash_from_hex(wj["block_header"]["block_commitment"]["transaction_merkle_root"].get<std::string>());
  hj.transaction_status_hash =
      *core::hash_from_hex(wj["block_header"]["block_commitment"]["transaction_status_hash"].get<std::string>());
  const core::BlockHeader sj = solve(hj, *core::hash_from_hex(wj["seed"].get<std::string>()));
  json submitted = wj["block_header"];
  submitted["nonce"] = sj.nonce;
  EXPECT_EQ(node.ok("submit-work-json", {{"block_header", submitted}}), true);
  EXPECT_EQ(node.ok("get-block-count", json::object())["block_count"], 5);
  // The same work again is stale now.
  const json stale = node.fail("submit-work-json", {{"block_header", submitted}});
  EXPECT_EQ(stale["code"], "BTM000");  // bytomd's code for a refused block
  EXPECT_EQ(stale["msg"], "Bytom API Error");
  EXPECT_NE(stale["error_detail"].get<std::string>().find("stale"), std::string::npos) << stale.dump();
}

TEST(NodeRpc, BadRequestsGetJsonErrorsAndChangeNothing) {
  TempDir dir("node");
  NodeProcess node(dir.path, {"--mining-address", regtest_address(1), "--rpc-max-body", "4096"});
  node.ok("generate", {{"count", 1}});
  struct Case {
    const char* method;
    std::string body;
    unsigned status;
  };
  const std::vector<Case> cases = {
      {"submit-block", "{not json", 400},
      {"submit-block", "[1,2]", 400},
      {"submit-block", R"({"raw_block":"zz"})", 400},
      {"submit-block", R"({"raw_block":"0300"})", 400},
      {"submit-work", R"({"block_header":"01"})", 400},
      {"get-block", R"({"block_height":1.5})", 400},
      {"get-block", R"({"block_height":-1})", 400},
      {"get-block", R"({"block_hash":"00"})", 400},
      {"submit-transaction", R"({"raw_transaction":"07"})", 400},
      {"get-unspent-outputs", R"({"address":"bm1qxyz"})", 400},
      {"generate", R"({"count":0})", 400},
      {"no-such-method", "{}", 500},
      {"submit-block", std::string(5000, ' '), 413},
  };
  for (const Case& c : cases) {
    const net::HttpResponse r = node.post(c.method, c.body);
    EXPECT_EQ(r.status, c.status) << c.method << " " << c.body.substr(0, 40) << ": " << r.body;
    const json j = json::parse(r.body, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r.body;
    EXPECT_EQ(j["status"], "fail") << r.body;
    EXPECT_FALSE(j["msg"].get<std::string>().empty());
    if (c.status == 400) {  // bytomd's envelope for a body it cannot read
      EXPECT_EQ(j["code"], "BTM002") << r.body;
      EXPECT_EQ(j["msg"], "Invalid request body") << r.body;
      EXPECT_FALSE(j["detail"].get<std::string>().empty()) << r.body;
      EXPECT_EQ(j["temporary"], false) << r.body;
    }
  }
  EXPECT_EQ(node.ok("get-block-count", json::object())["block_count"], 1);
}

TEST(NodeRpc, BearerTokenIsRequiredWhenConfigured) {
  TempDir dir("node");
  NodeProcess node(dir.path, {"--rpc-token", "s3cret"});
  EXPECT_EQ(node.post("get-block-count", "{}").status, 401u);
  net::HttpClientOptions with;
  with.bearer_token = "s3cret";
  auto r = net::http_post(node.url(), "/get-block-count", "{}", with);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->status, 200u);
}

// bytomd's clients send an access token "<id>:<secret>" as HTTP Basic; so do ours.
TEST(NodeRpc, ATokenInBytomdsFormGoesAsHttpBasic) {
  TempDir dir("node");
  NodeProcess node(dir.path, {"--rpc-token", "pool:9f2c"});
  const net::HttpResponse refused = node.post("get-block-count", "{}");
  EXPECT_EQ(refused.status, 401u);
  EXPECT_EQ(json::parse(refused.body)["code"], "BTM860");
  net::HttpClientOptions with;
  with.bearer_token = "pool:9f2c";
  auto r = net::http_post(node.url(), "/get-block-count", "{}", with);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->status, 200u) << r->body;
}

TEST(NodeRpc, LongPollAnswersWhenANewBlockArrives) {
  TempDir dir("node");
  NodeProcess node(dir.path, {"--mining-address", regtest_address(1)});
  const std::string tip = node.ok("get-block-hash", json::object())["block_hash"];
  auto waiting = std::async(std::launch::async, [&] {
    const auto t0 = std::chrono::steady_clock::now();
    json r = node.ok("wait-new-block", {{"after_hash", tip}, {"timeout_ms", 20000}});
    return std::make_pair(r, std::chrono::steady_clock::now() - t0);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const json gen = node.ok("generate", {{"count", 1}});
  const auto [answer, waited] = waiting.get();
  EXPECT_EQ(answer["hash"], gen["block_hashes"][0]);
  EXPECT_EQ(answer["height"], 1);
  EXPECT_LT(waited, std::chrono::seconds(15));
  // With a stale after_hash it answers at once; with the tip it times out with the tip.
  EXPECT_EQ(node.ok("wait-new-block", {{"after_hash", tip}})["height"], 1);
  EXPECT_EQ(node.ok("wait-new-block", {{"after_hash", gen["block_hashes"][0]}, {"timeout_ms", 200}})["height"], 1);
}

TEST(NodeRpc, AHeavierBranchFromAnotherNodeReorganisesTheChain) {
  TempDir dir_a("node"), dir_b("node");
  NodeProcess a(dir_a.path, {"--mining-address", regtest_address(1)});
  NodeProcess b(dir_b.path, {"--mining-address", regtest_address(2)});
  a.ok("generate", {{"count", 3}});
  const json b_hashes = b.ok("generate", {{"count", 5}})["block_hashes"];
  for (const auto& h : b_hashes) {
    const json raw = b.ok("get-raw-block", {{"block_hash", h}});
    const net::HttpResponse r = a.post("submit-block", json{{"raw_block", raw["raw_block"]}}.dump());
    ASSERT_EQ(r.status, 200u) << r.body;
  }
  EXPECT_EQ(a.ok("get-block-hash", json::object())["block_hash"], b_hashes[4]);
  EXPECT_EQ(a.ok("get-block-count", json::object())["block_count"], 5);
  const json b1 = a.ok("get-block", {{"block_height", 1}});
  EXPECT_EQ(b1["transactions"][0]["outputs"][0]["address"], regtest_address(2));
  EXPECT_EQ(a.ok("get-unspent-outputs", {{"address", regtest_address(1)}}).size(), 0u);
  EXPECT_EQ(a.ok("get-unspent-outputs", {{"address", regtest_address(2)}}).size(), 5u);
}

// `node import` must not look successful when blocks it was given did not end on the main
// chain (an earlier version printed "tip 0 -> 2016" and exited 0 on a testnet chain it had put
// on a side chain): it exits 1 and says how many.
TEST(NodeImport, BlocksLeftOffTheMainChainMakeItFail) {
  TempDir dir("node");
  std::vector<std::string> longer, shorter;
  std::filesystem::create_directories(dir.path / "a");
  std::filesystem::create_directories(dir.path / "b");
  {
    NodeProcess a(dir.path / "a", {"--mining-address", regtest_address(1)});
    const json made = a.ok("generate", {{"count", 3}});
    for (const auto& h : made["block_hashes"]) {
      longer.push_back(a.ok("get-raw-block", {{"block_hash", h}})["raw_block"]);
    }
    NodeProcess b(dir.path / "b", {"--mining-address", regtest_address(2)});
    const json made_b = b.ok("generate", {{"count", 2}});
    for (const auto& h : made_b["block_hashes"]) {
      shorter.push_back(b.ok("get-raw-block", {{"block_hash", h}})["raw_block"]);
    }
  }
  auto import = [&](const std::string& name, const std::vector<std::string>& lines) {
    const auto file = dir.path / (name + ".hex");
    std::ofstream out(file);
    for (const auto& l : lines) out << l << "\n";
    out.close();
    Process p({tensority_bin(), "node", "import", "--network", "regtest", "--data-dir", (dir.path / name).string(),
               "--file", file.string(), "--pow-threads", "2"},
              (dir.path / (name + ".log")).string());
    const int rc = p.wait();
    return std::make_pair(rc, p.log());
  };
  const auto good = import("c", longer);
  EXPECT_EQ(good.first, 0) << good.second;
  std::vector<std::string> both = longer;
  both.insert(both.end(), shorter.begin(), shorter.end());
  const auto mixed = import("d", both);
  EXPECT_EQ(mixed.first, 1) << mixed.second;
  EXPECT_NE(mixed.second.find("2 of 5 blocks given did not end on the main chain"), std::string::npos) << mixed.second;
  EXPECT_NE(mixed.second.find("tip height 0 -> 3"), std::string::npos) << mixed.second;
}

TEST(NodeRpc, StopsCleanlyOnSigterm) {
  TempDir dir("node");
  NodeProcess node(dir.path, {});
  node.process().signal(SIGTERM);
  EXPECT_EQ(node.process().wait(), 0) << node.process().log();
  EXPECT_NE(node.process().log().find("stopped at height 0"), std::string::npos);
}

// kill -9 at random moments while blocks connect and a 20-block reorg runs: every restart
// must come back to a consistent chain (`node check` replays it against the UTXO set) that
// holds every block the node had acknowledged.
TEST(NodeRecovery, KillNineDuringConnectAndReorgLosesNothingAcknowledged) {
  TempDir src_a("node"), src_b("node"), dir("node");
  std::vector<std::string> branch;  // raw blocks: A 1..30, then B 11..40 (heavier)
  {
    NodeProcess a(src_a.path, {"--mining-address", regtest_address(1)});
    const json hashes = a.ok("generate", {{"count", 30}})["block_hashes"];
    for (const auto& h : hashes) branch.push_back(a.ok("get-raw-block", {{"block_hash", h}})["raw_block"]);
    NodeProcess b(src_b.path, {"--mining-address", regtest_address(2)});
    for (int i = 0; i < 10; ++i) b.ok("submit-block", {{"raw_block", branch[static_cast<std::size_t>(i)]}});
    const json more = b.ok("generate", {{"count", 30}})["block_hashes"];
    for (const auto& h : more) branch.push_back(b.ok("get-raw-block", {{"block_hash", h}})["raw_block"]);
  }
  std::mt19937 rng(12345);
  std::size_t next = 0;
  std::vector<std::string> acknowledged;
  int kills = 0;
  while (next < branch.size()) {
    ASSERT_TRUE(check_chain(dir.path)) << "after kill " << kills;
    NodeProcess node(dir.path, {"--quiet"});
    for (const std::string& id : acknowledged) {
      ASSERT_EQ(node.post("get-block", json{{"block_hash", id}}.dump()).status, 200u) << "lost block " << id;
    }
    // Feed from a thread; kill the node from here after a random delay.
    std::atomic<bool> stop{false};
    std::mutex m;
    auto feeder = std::async(std::launch::async, [&] {
      while (!stop && next < branch.size()) {
        const net::HttpResponse r = node.post("submit-block", json{{"raw_block", branch[next]}}.dump());
        if (r.status != 200) return;  // killed mid-request
        const json j = json::parse(r.body, nullptr, false);
        if (j.is_discarded()) return;
        // Stored on a side chain (B 11..30 until B 31 outweighs A), or stored before the last
        // kill but not acknowledged then: both are stored, which is what counts here.
        const std::string detail = j.value("error_detail", "");
        const bool stored = detail.find("already known") != std::string::npos ||
                            detail.find("stored on a side chain") != std::string::npos;
        if (j["status"] != "success" && !stored) return;
        std::lock_guard lock(m);
        acknowledged.push_back(block_hash_of(branch[next]));
        ++next;
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(20, 400)(rng)));
    node.process().signal(SIGKILL);
    node.process().wait();
    stop = true;
    feeder.wait();
    ++kills;
    if (kills > 60) break;
  }
  ASSERT_TRUE(check_chain(dir.path));
  NodeProcess node(dir.path, {"--quiet"});
  EXPECT_GE(kills, 3);
  EXPECT_EQ(next, branch.size());
  EXPECT_EQ(node.ok("get-block-count", json::object())["block_count"], 40);
  EXPECT_EQ(node.ok("get-block-hash", json::object())["block_hash"], block_hash_of(branch.back()));
}

}  // namespace
}  // namespace tensority::test
