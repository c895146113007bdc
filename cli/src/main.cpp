#include <cstdio>
#include <exception>

#include "commands.hpp"

int main(int argc, char** argv) {
  using namespace tensority::cli;
  CLI::App app{"tensority: mining suite for Tensority, the proof-of-work of Bytom (BTM) 1.x", "tensority"};
  app.set_version_flag("--version", std::string("tensority ") + TENSORITY_VERSION);
  app.require_subcommand(1);
  app.fallthrough(false);

  const Runner hash = add_hash(app);
  const Runner bench = add_bench(app);
  const Runner devices = add_devices(app);
  const Runner node = add_node(app);
  const Runner wallet = add_wallet(app);
  const Runner mine = add_mine(app);
  const Runner pool = add_pool(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "tensority: error: %s (see 'tensority --help')\n", e.what());
    return kExitUsage;
  }

  try {
    if (app.got_subcommand("hash")) return hash();
    if (app.got_subcommand("bench")) return bench();
    if (app.got_subcommand("devices")) return devices();
    if (app.got_subcommand("node")) return node();
    if (app.got_subcommand("wallet")) return wallet();
    if (app.got_subcommand("mine")) return mine();
    if (app.got_subcommand("pool")) return pool();
  } catch (const UsageError& e) {
    std::fprintf(stderr, "tensority: error: %s\n", e.what());
    return kExitUsage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tensority: failed: %s\n", e.what());
    return kExitFailure;
  }
  return kExitUsage;
}
