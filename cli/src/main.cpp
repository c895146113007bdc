#include <cstdio>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "commands.hpp"

int main(int argc, char** argv) {
  using namespace tensority::cli;
  CLI::App app{"tensority: mining suite for Tensority, the proof-of-work of Bytom (BTM) 1.x", "tensority"};
  app.set_version_flag("--version", std::string("tensority ") + TENSORITY_VERSION);
  app.require_subcommand(1);
  app.fallthrough(false);

  std::vector<std::pair<std::string, Runner>> runners;
  for (const Command& c : builtin_commands()) runners.emplace_back(c.name, c.add(app));

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
    for (const auto& [name, run] : runners) {
      if (app.got_subcommand(name)) return run();
    }
  } catch (const UsageError& e) {
    std::fprintf(stderr, "tensority: error: %s\n", e.what());
    return kExitUsage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tensority: failed: %s\n", e.what());
    return kExitFailure;
  }
  return kExitUsage;
}
