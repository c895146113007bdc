// placeholder: filled in during issue 5
#include "commands.hpp"

namespace tensority::cli {

Runner add_wallet(CLI::App& app) {
  app.add_subcommand("wallet", "(in progress)");
  return [] { return kExitFailure; };
}

}  // namespace tensority::cli
