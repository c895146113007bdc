#include <signal.h>

#include <algorithm>
#include <ctime>

#include "commands.hpp"

namespace tensority::cli {

StopSignals::StopSignals() {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set_, nullptr);
}

std::string StopSignals::wait_until(std::chrono::steady_clock::time_point until) const {
  const auto left =
      std::max<std::chrono::nanoseconds>(std::chrono::milliseconds(1), until - std::chrono::steady_clock::now());
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(left.count() / 1'000'000'000);
  ts.tv_nsec = static_cast<long>(left.count() % 1'000'000'000);
  const int sig = sigtimedwait(&set_, nullptr, &ts);
  if (sig == SIGINT) return "SIGINT received";
  if (sig == SIGTERM) return "SIGTERM received";
  return "";
}

std::string StopSignals::wait() const {
  int sig = 0;
  sigwait(&set_, &sig);
  return sig == SIGINT ? "SIGINT received" : "SIGTERM received";
}

}  // namespace tensority::cli
