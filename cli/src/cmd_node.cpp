// placeholder: filled in during issue 5
#include "commands.hpp"

namespace tensority::cli {

Runner add_node(CLI::App& app) {
  app.add_subcommand("node", "(in progress)");
  return [] { return kExitFailure; };
}

}  // namespace tensority::cli
