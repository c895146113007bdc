#pragma once
// Each subcommand registers its options on the app and returns the function that runs it.
// Runners return the process exit code: 0 success, 1 runtime failure, 2 bad input.
#include <signal.h>

#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>

namespace tensority::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// Bad input found after parsing (a hash of the wrong length, an unknown device): main
// prints it as one line and exits with kExitUsage.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

using Runner = std::function<int()>;

// Local time of day, "HH:MM:SS", for the log lines of the long-running commands. Reentrant
// (localtime_r): lines come from RPC, device and network threads.
std::string clock_stamp();

// SIGINT and SIGTERM for a long-running command: blocked from construction on, in this thread
// and every thread it starts later, and taken synchronously by wait/wait_until. Construct it
// before starting threads.
class StopSignals {
 public:
  StopSignals();
  // "SIGINT received" / "SIGTERM received" when one came before `until`, else "".
  std::string wait_until(std::chrono::steady_clock::time_point until) const;
  // Blocks until one comes.
  std::string wait() const;

 private:
  sigset_t set_{};
};

Runner add_hash(CLI::App& app);
Runner add_bench(CLI::App& app);
Runner add_devices(CLI::App& app);
Runner add_node(CLI::App& app);
Runner add_wallet(CLI::App& app);
Runner add_mine(CLI::App& app);
Runner add_pool(CLI::App& app);

}  // namespace tensority::cli
