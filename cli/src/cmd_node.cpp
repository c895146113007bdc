// tensority node: the validating node with its RPC; `node import` and `node export` move
// chains between data directories as hex block files (one block per line).
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include <fmt/core.h>

#include "commands.hpp"
#include "tensority/core/hex.hpp"
#include "tensority/kernels/hal/paths.hpp"
#include "tensority/net/http.hpp"
#include "tensority/chain/address.hpp"
#include "tensority/node/chain.hpp"
#include "tensority/chain/chain_params.hpp"
#include "tensority/node/node.hpp"

namespace tensority::cli {
namespace {

struct NodeArgs {
  std::string network = "mainnet";
  std::string data_dir;
  int rpc_port = -1;
  std::string rpc_bind = "127.0.0.1";
  std::string rpc_token;
  std::string rpc_token_file;
  std::size_t rpc_max_body = 1 << 20;
  std::string mining_address;
  unsigned mining_threads = 0;
  unsigned pow_threads = 0;
  bool quiet = false;
  // import / export
  std::string file;
  bool no_pow = false;
  std::uint64_t from = 0;
  std::uint64_t to = ~std::uint64_t{0};
};

const chain::ChainParams& params_of(const NodeArgs& a) {
  auto net = chain::parse_network(a.network);
  if (!net) throw UsageError("--network: " + net.error());
  return chain::chain_params(*net);
}

std::filesystem::path data_dir_of(const NodeArgs& a, const chain::ChainParams& params) {
  if (!a.data_dir.empty()) return a.data_dir;
  return kernels::hal::data_directory() / std::string(params.name);
}

std::unique_ptr<node::Chain> open_chain(const NodeArgs& a, const chain::ChainParams& params, bool check_pow) {
  node::ChainOptions options;
  options.data_dir = data_dir_of(a, params);
  options.check_pow = check_pow;
  options.pow_threads = a.pow_threads;
  auto chain = node::Chain::open(params, options);  // its store creates the directory when missing
  if (!chain) throw std::runtime_error(options.data_dir.string() + ": " + chain.error());
  return std::move(chain).value();
}

std::string read_token(const NodeArgs& a) {
  if (!a.rpc_token.empty()) return a.rpc_token;
  if (a.rpc_token_file.empty()) return {};
  std::ifstream in(a.rpc_token_file);
  if (!in) throw UsageError("--rpc-token-file: cannot read " + a.rpc_token_file);
  std::string token;
  std::getline(in, token);
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  if (token.empty()) throw UsageError("--rpc-token-file: " + a.rpc_token_file + " is empty");
  return token;
}

int run_node(const NodeArgs& a) {
  const chain::ChainParams& params = params_of(a);
  node::NodeOptions o;
  o.network = params.network;
  o.data_dir = data_dir_of(a, params);
  o.pow_threads = a.pow_threads;
  o.rpc_bind = a.rpc_bind;
  o.rpc_port = a.rpc_port >= 0 ? static_cast<std::uint16_t>(a.rpc_port) : params.rpc_port;
  o.rpc_token = read_token(a);
  o.rpc_max_body = a.rpc_max_body;
  o.mining_threads = a.mining_threads;
  o.version = TENSORITY_VERSION;
  if (!a.mining_address.empty()) {
    auto p = chain::address_to_program(a.mining_address, params.network);
    if (!p) throw UsageError("--mining-address: " + p.error());
    o.mining_program = std::move(p).value();
  }

  const StopSignals stop;  // before any thread starts: they all inherit the blocked signals

  node::Node::LogFn log;
  if (!a.quiet) log = [](const std::string& line) { fmt::print(stderr, "{} node: {}\n", clock_stamp(), line); };
  auto started = node::Node::start(o, log);
  if (!started) throw std::runtime_error(started.error());
  node::Node& n = **started;

  const node::TipInfo tip = n.chain().tip();
  fmt::print(stderr, "{} node: {} chain in {}, tip height {} {}\n", clock_stamp(), params.name, o.data_dir.string(),
             tip.height, core::to_hex(tip.id));
  fmt::print(stderr, "{} node: rpc listening on http://{}:{}{}{}\n", clock_stamp(), a.rpc_bind, n.rpc_port(),
             o.rpc_token.empty() ? "" : " (token required: Bearer, or HTTP Basic as bytomd)",
             o.mining_program.empty() ? "; no --mining-address, so get-work is off" : "");
  std::fflush(stderr);

  const std::string why = stop.wait();
  fmt::print(stderr, "{} node: {}, stopping\n", clock_stamp(), why);
  n.stop();
  fmt::print(stderr, "{} node: stopped at height {}\n", clock_stamp(), n.chain().tip().height);
  return kExitOk;
}

int run_export(const NodeArgs& a) {
  const chain::ChainParams& params = params_of(a);
  auto chain = open_chain(a, params, false);
  if (a.file.empty()) throw UsageError("--file is required");
  std::ofstream out(a.file, std::ios::trunc);
  if (!out) throw std::runtime_error("cannot write " + a.file);
  const std::uint64_t top = std::min(chain->tip().height, a.to);
  std::uint64_t n = 0;
  for (std::uint64_t h = std::max<std::uint64_t>(a.from, 1); h <= top; ++h) {
    auto raw = chain->raw_block(*chain->hash_at(h));
    if (!raw) throw std::runtime_error("block at height " + std::to_string(h) + " has no stored body");
    out << core::to_hex(*raw) << '\n';
    ++n;
  }
  out.close();
  if (!out) throw std::runtime_error("writing " + a.file + " failed");
  fmt::print("exported {} blocks (heights {}..{}) to {}\n", n, std::max<std::uint64_t>(a.from, 1), top, a.file);
  return kExitOk;
}

int run_import(const NodeArgs& a) {
  const chain::ChainParams& params = params_of(a);
  if (a.file.empty()) throw UsageError("--file is required");
  std::ifstream in(a.file);
  if (!in) throw UsageError("--file: cannot read " + a.file);
  auto chain = open_chain(a, params, !a.no_pow);
  const std::uint64_t start_height = chain->tip().height;
  constexpr std::size_t kBatch = 64;  // PoW of a batch is checked in parallel
  std::vector<chain::Block> batch;
  std::uint64_t line_no = 0, blocks = 0, txs = 0;
  std::vector<std::pair<core::Hash, std::uint64_t>> given;  // (id, height) of every block read
  std::chrono::duration<double> busy{0};
  auto flush = [&] {
    if (batch.empty()) return;
    const auto t0 = std::chrono::steady_clock::now();
    const auto results = chain->process_blocks(batch);
    busy += std::chrono::steady_clock::now() - t0;
    for (std::size_t i = 0; i < results.size(); ++i) {
      const auto& r = results[i];
      if (r.outcome == node::BlockOutcome::invalid) {
        throw std::runtime_error("block at height " + std::to_string(batch[i].header.height) + " " +
                                 core::to_hex(r.id) + " refused: " + r.error);
      }
      given.emplace_back(r.id, batch[i].header.height);
      txs += batch[i].transactions.size();
    }
    blocks += batch.size();
    batch.clear();
  };
  std::string line;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    auto raw = core::from_hex(line);
    if (!raw) throw UsageError(a.file + ":" + std::to_string(line_no) + ": " + raw.error());
    auto block = chain::parse_block(*raw);
    if (!block) throw UsageError(a.file + ":" + std::to_string(line_no) + ": " + block.error());
    batch.push_back(std::move(block).value());
    if (batch.size() == kBatch) flush();
  }
  flush();
  const double s = busy.count();
  fmt::print("imported {} blocks ({} transactions) in {:.2f} s: {:.1f} blocks/s, {:.0f} tx/s, PoW checks {}; "
             "tip height {} -> {}\n",
             blocks, txs, s, s > 0 ? static_cast<double>(blocks) / s : 0.0, s > 0 ? static_cast<double>(txs) / s : 0.0, a.no_pow ? "off" : "on",
             start_height, chain->tip().height);
  // A block can be valid and still not count: on a side chain, or an orphan whose parent never
  // came. A file meant to bring a chain up to date must not look imported when it did not.
  std::uint64_t off_main = 0;
  const std::pair<core::Hash, std::uint64_t>* first_off = nullptr;
  for (const auto& g : given) {
    if (chain->main_height(g.first)) continue;
    ++off_main;
    if (first_off == nullptr) first_off = &g;
  }
  if (off_main > 0) {
    fmt::print(stderr,
               "tensority: {} of {} blocks given did not end on the main chain (first: height {} {}); "
               "they are kept as side-chain or orphan blocks\n",
               off_main, given.size(), first_off->second, core::to_hex(first_off->first));
    return kExitFailure;
  }
  return kExitOk;
}

int run_check(const NodeArgs& a) {
  const chain::ChainParams& params = params_of(a);
  auto chain = open_chain(a, params, false);
  auto verdict = chain->verify();
  if (!verdict) {
    fmt::print(stderr, "tensority: check failed: {}\n", verdict.error());
    return kExitFailure;
  }
  fmt::print("{}\n", *verdict);
  return kExitOk;
}

void add_common(CLI::App* cmd, NodeArgs& a) {
  cmd->add_option("--network", a.network, "mainnet, testnet (bytomd's wisdom), solonet or regtest")->capture_default_str();
  cmd->add_option("--data-dir", a.data_dir,
                  "where the chain is kept (default $XDG_DATA_HOME/tensority/<network>, i.e. "
                  "~/.local/share/tensority/<network>)");
  cmd->add_option("--pow-threads", a.pow_threads, "threads checking proof of work (0: one per core)");
}

}  // namespace

Runner add_node(CLI::App& app) {
  auto a = std::make_shared<NodeArgs>();
  CLI::App* cmd = app.add_subcommand("node", "Run the validating node with its bytomd-compatible RPC (Ctrl-C stops)");
  cmd->require_subcommand(0, 1);
  add_common(cmd, *a);
  cmd->add_option("--rpc-port", a->rpc_port, "RPC port (default 9888 mainnet and solonet, as bytomd; 9889 testnet, 9890 regtest)")
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--rpc-bind", a->rpc_bind, "RPC address; anything but loopback exposes the node")->capture_default_str();
  cmd->add_option("--rpc-token", a->rpc_token, "require the token on every request: 'Authorization: Bearer TOKEN', or HTTP Basic as bytomd's clients send it (credentials equal to TOKEN, e.g. id:secret, or password TOKEN)");
  cmd->add_option("--rpc-token-file", a->rpc_token_file, "read the bearer token from this file");
  cmd->add_option("--rpc-max-body", a->rpc_max_body, "largest request body in bytes")->capture_default_str();
  cmd->add_option("--mining-address", a->mining_address, "coinbase payee for get-work and generate (bech32)");
  cmd->add_option("--mining-threads", a->mining_threads, "CPU threads regtest's generate mines with (0: one per core)");
  cmd->add_flag("--quiet", a->quiet, "no line per connected block");

  CLI::App* imp = cmd->add_subcommand("import", "Validate and store blocks from a file (one hex block per line); prints blocks/s");
  add_common(imp, *a);
  imp->add_option("--file", a->file, "the block file")->required();
  imp->add_flag("--no-pow", a->no_pow, "trust proof of work (measures everything else)");
  CLI::App* exp = cmd->add_subcommand("export", "Write the main chain's blocks to a file, one hex block per line");
  add_common(exp, *a);
  exp->add_option("--file", a->file, "the block file to write")->required();
  exp->add_option("--from", a->from, "first height (at least 1)");
  exp->add_option("--to", a->to, "last height (default: the tip)");

  CLI::App* chk = cmd->add_subcommand("check", "Replay the stored main chain and compare it with the UTXO set");
  add_common(chk, *a);

  return [a, imp, exp, chk] {
    if (imp->parsed()) return run_import(*a);
    if (exp->parsed()) return run_export(*a);
    if (chk->parsed()) return run_check(*a);
    return run_node(*a);
  };
}

}  // namespace tensority::cli
