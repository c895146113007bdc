#include <ctime>

#include "commands.hpp"

namespace tensority::cli {

std::string clock_stamp() {
  const std::time_t t = std::time(nullptr);
  std::tm local{};
  localtime_r(&t, &local);
  char buf[32];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &local);
  return buf;
}

}  // namespace tensority::cli
