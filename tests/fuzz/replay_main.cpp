// Stand-in driver for fuzz targets when libFuzzer is not available (BUILD_FUZZ=OFF).
//
//   <target> [--runs=N] [--seed=S] <corpus dir or file>...
//
// Feeds every corpus file, then N inputs that are either random bytes or stacked mutations of
// corpus entries. Everything is deterministic for a given seed, so a CI failure reproduces
// locally; the input being run when a target aborts or crashes is written to
// replay-crash-<target>.bin in the working directory.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

// State the crash handler reads; set before every call so it always names the live input.
const std::uint8_t* g_current = nullptr;
std::size_t g_current_size = 0;
char g_crash_path[512] = "replay-crash.bin";

void write_all(int fd, const void* data, std::size_t size) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n <= 0) return;
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

extern "C" void on_fatal_signal(int sig) {
  // Only async-signal-safe calls here.
  const int fd = ::open(g_crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    if (g_current != nullptr) write_all(fd, g_current, g_current_size);
    ::close(fd);
  }
  static constexpr char kMsg[] = "replay: target crashed; input saved to ";
  write_all(2, kMsg, sizeof kMsg - 1);
  write_all(2, g_crash_path, std::strlen(g_crash_path));
  write_all(2, "\n", 1);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

// SplitMix64: tiny, seedable, and identical on every platform (std:: distributions are not).
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : s_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (s_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  std::size_t below(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(next() % n); }
  std::uint8_t byte() { return static_cast<std::uint8_t>(next()); }

 private:
  std::uint64_t s_;
};

void run_one(const Bytes& input) {
  // An exact-size heap copy, so a sanitizer build flags any read past the end.
  std::unique_ptr<std::uint8_t[]> copy(new std::uint8_t[input.size() + (input.empty() ? 1 : 0)]);
  std::copy(input.begin(), input.end(), copy.get());
  g_current = copy.get();
  g_current_size = input.size();
  LLVMFuzzerTestOneInput(copy.get(), input.size());
  g_current = nullptr;
  g_current_size = 0;
}

void mutate(Bytes& b, const std::vector<Bytes>& corpus, Rng& rng) {
  static constexpr std::uint8_t kInteresting[] = {0x00, 0x01, 0x03, 0x3f, 0x40, 0x41,
                                                  0x7f, 0x80, 0x81, 0xfe, 0xff};
  const std::size_t rounds = 1 + rng.below(4);
  for (std::size_t r = 0; r < rounds; ++r) {
    switch (rng.below(8)) {
      case 0:  // flip one bit
        if (!b.empty()) b[rng.below(b.size())] ^= static_cast<std::uint8_t>(1U << rng.below(8));
        break;
      case 1:  // set a byte to a boundary value (varint continuation, length 0x40, flags)
        if (!b.empty()) b[rng.below(b.size())] = kInteresting[rng.below(std::size(kInteresting))];
        break;
      case 2:  // random byte
        if (!b.empty()) b[rng.below(b.size())] = rng.byte();
        break;
      case 3:  // insert a run of one boundary value (long varints)
      {
        const std::size_t at = rng.below(b.size() + 1);
        const std::size_t n = 1 + rng.below(12);
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), n,
                 kInteresting[rng.below(std::size(kInteresting))]);
        break;
      }
      case 4:  // erase a range
        if (!b.empty()) {
          const std::size_t at = rng.below(b.size());
          const std::size_t n = 1 + rng.below(std::min<std::size_t>(16, b.size() - at));
          b.erase(b.begin() + static_cast<std::ptrdiff_t>(at),
                  b.begin() + static_cast<std::ptrdiff_t>(at + n));
        }
        break;
      case 5:  // truncate
        b.resize(rng.below(b.size() + 1));
        break;
      case 6:  // splice in part of another corpus entry
        if (!corpus.empty()) {
          const Bytes& other = corpus[rng.below(corpus.size())];
          const std::size_t from = rng.below(other.size() + 1);
          const std::size_t n = rng.below(other.size() - from + 1);
          const std::size_t at = rng.below(b.size() + 1);
          b.insert(b.begin() + static_cast<std::ptrdiff_t>(at),
                   other.begin() + static_cast<std::ptrdiff_t>(from),
                   other.begin() + static_cast<std::ptrdiff_t>(from + n));
        }
        break;
      default:  // append random bytes
      {
        const std::size_t n = 1 + rng.below(8);
        for (std::size_t i = 0; i < n; ++i) b.push_back(rng.byte());
        break;
      }
    }
  }
}

bool read_file(const fs::path& path, Bytes& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);

  const std::string name = fs::path(argv[0]).filename().string();
  std::snprintf(g_crash_path, sizeof g_crash_path, "replay-crash-%s.bin", name.c_str());
  for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP}) {
    std::signal(sig, on_fatal_signal);
  }

  std::uint64_t runs = 20000;
  std::uint64_t seed = 0x7e5011e7;
  std::vector<fs::path> inputs;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--runs=", 0) == 0) {
      runs = std::strtoull(arg.c_str() + 7, nullptr, 0);
    } else if (arg.rfind("--seed=", 0) == 0) {
      seed = std::strtoull(arg.c_str() + 7, nullptr, 0);
    } else if (fs::is_directory(arg)) {
      for (const auto& entry : fs::recursive_directory_iterator(arg)) {
        if (entry.is_regular_file()) inputs.push_back(entry.path());
      }
    } else if (fs::is_regular_file(arg)) {
      inputs.push_back(arg);
    } else {
      std::fprintf(stderr, "%s: no such corpus file or directory: %s\n", name.c_str(), arg.c_str());
      return 2;
    }
  }
  // Directory order is unspecified; sorting keeps the mutation stream reproducible.
  std::sort(inputs.begin(), inputs.end());

  std::vector<Bytes> corpus;
  for (const auto& path : inputs) {
    Bytes b;
    if (!read_file(path, b)) {
      std::fprintf(stderr, "%s: cannot read %s\n", name.c_str(), path.c_str());
      return 2;
    }
    run_one(b);
    corpus.push_back(std::move(b));
  }

  Rng rng(seed);
  for (std::uint64_t i = 0; i < runs; ++i) {
    Bytes b;
    if (corpus.empty() || rng.below(4) == 0) {
      b.resize(rng.below(rng.below(2) ? 16 : 300));
      for (auto& x : b) x = rng.byte();
    } else {
      b = corpus[rng.below(corpus.size())];
      mutate(b, corpus, rng);
    }
    run_one(b);
  }

  std::printf("%s: replayed %zu corpus files and %llu generated inputs (seed %llu)\n",
              name.c_str(), corpus.size(), static_cast<unsigned long long>(runs),
              static_cast<unsigned long long>(seed));
  return 0;
}
