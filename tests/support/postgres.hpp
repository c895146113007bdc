#pragma once
// A real, throwaway PostgreSQL server for tests: initdb into a temp directory, listen on
// 127.0.0.1 on a free port (fsync off: nothing here must survive a power cut), one empty
// database per test from create_database(), and `pg_ctl stop -m immediate` plus removal of
// everything at the end. One server per test binary: PostgresServer::shared() starts it on
// first use.
//
// initdb refuses to run as root, and CI and the dev machines run as root: then every server
// binary runs as the `postgres` system user through `runuser -u postgres --`, and the
// directories it writes are handed to that user.
//
// A watchdog shell, started in its own session, stops the server and removes the directory if
// the test process dies without running its destructors (a crash, a timeout's SIGKILL).
//
// Binaries are looked for under /usr/lib/postgresql/<newest>/bin (TENSORITY_PG_BIN overrides).
// Missing ones skip the tests that need them, unless TENSORITY_REQUIRE_POSTGRES=1.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "process.hpp"
#include "temp_dir.hpp"

extern char** environ;

namespace tensority::test {

class PostgresServer {
 public:
  // What shared() found: a running server, or why not and whether that is a skip or a failure.
  struct Availability {
    PostgresServer* server = nullptr;
    bool skip = false;  // binaries missing and TENSORITY_REQUIRE_POSTGRES unset
    std::string why;
  };

  static const Availability& shared() {
    static std::unique_ptr<PostgresServer> server;
    static const Availability availability = [] {
      Availability a;
      const auto bin = find_binaries();
      if (!bin) {
        const char* require = std::getenv("TENSORITY_REQUIRE_POSTGRES");
        a.skip = require == nullptr || std::string(require) != "1";
        a.why =
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found under /usr/lib/postgresql/*/bin: "
            "run scripts/install-deps";
        a.why += a.skip ? " (TENSORITY_REQUIRE_POSTGRES=1 turns this skip into a failure)"
                        : " (a failure because TENSORITY_REQUIRE_POSTGRES=1)";
        return a;
      }
      try {
        server.reset(new PostgresServer(*bin));
        a.server = server.get();
      } catch (const std::exception& e) {
        a.why = std::string("cannot start a test PostgreSQL server: ") + e.what();
      }
      return a;
    }();
    return availability;
  }

  // The newest /usr/lib/postgresql/<version>/bin holding initdb, pg_ctl and postgres.
  static std::optional<std::filesystem::path> find_binaries() {
    namespace fs = std::filesystem;
    auto complete = [](const fs::path& dir) {
      return fs::exists(dir / "initdb") && fs::exists(dir / "pg_ctl") && fs::exists(dir / "postgres");
    };
    if (const char* env = std::getenv("TENSORITY_PG_BIN"); env != nullptr && *env != '\0') {
      if (complete(env)) return fs::path(env);
      return std::nullopt;
    }
    std::optional<fs::path> best;
    double best_version = -1;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
      const fs::path bin = entry.path() / "bin";
      const double version = std::atof(entry.path().filename().c_str());  // "15", "9.6"
      if (version > best_version && complete(bin)) {
        best = bin;
        best_version = version;
      }
    }
    return best;
  }

  explicit PostgresServer(std::filesystem::path bin) : bin_(std::move(bin)), dir_("pg") {
    namespace fs = std::filesystem;
    data_ = dir_.path / "data";
    sockets_ = dir_.path / "sockets";
    fs::create_directories(sockets_);
    if (::geteuid() == 0) {
      const passwd* pw = ::getpwnam("postgres");
      if (pw == nullptr) {
        throw std::runtime_error("running as root needs the `postgres` system user (initdb refuses root)");
      }
      for (const fs::path& p : {dir_.path, sockets_}) {
        if (::chown(p.c_str(), pw->pw_uid, pw->pw_gid) != 0) throw std::runtime_error("cannot chown " + p.string());
      }
      for (const char* candidate : {"/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"}) {
        if (runuser_.empty() && fs::exists(candidate)) runuser_ = candidate;
      }
      if (runuser_.empty()) throw std::runtime_error("running as root needs runuser (util-linux)");
    }
    start_watchdog();
    try {
      initialize_and_start();
    } catch (...) {
      // No destructor runs for a constructor that throws: stop whatever started, now.
      if (port_ != 0) stop();
      release_watchdog(false);
      throw;
    }
  }

  ~PostgresServer() {
    if (port_ != 0) stop();
    release_watchdog(true);
  }
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  int port() const { return port_; }
  std::string url(const std::string& database = "tensority") const {
    return "postgresql://tensority@127.0.0.1:" + std::to_string(port_) + "/" + database;
  }
  std::string server_log() const { return (dir_.path / "server.log").string(); }

  // Creates an empty database (name: letters, digits and '_') and answers its URL.
  std::string create_database(const std::string& name) {
    const std::string log = (dir_.path / "createdb.log").string();
    if (run({(bin_ / "createdb").string(), "-h", "127.0.0.1", "-p", std::to_string(port_), "-U", "tensority", name},
            log) != 0) {
      throw std::runtime_error("createdb " + name + " failed: " + last_line(read_file(log)));
    }
    return url(name);
  }

  // A database no other test of this process has used.
  std::string fresh_database() {
    static std::atomic<int> counter{0};
    return create_database("test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  }

 private:
  void initialize_and_start() {
    const std::string initdb_log = (dir_.path / "initdb.log").string();
    if (run(server_command({(bin_ / "initdb").string(), "-D", data_.string(), "-A", "trust", "-U", "tensority", "-E",
                            "UTF8", "--locale=C", "--no-sync"}),
            initdb_log) != 0) {
      fail("initdb failed", initdb_log);
    }
    // Another test binary may take the port between the probe and the bind: try a few.
    for (int attempt = 0;; ++attempt) {
      port_ = free_port();
      if (start()) break;
      const std::string log = read_file(server_log());
      const bool port_taken =
          log.find("could not bind") != std::string::npos || log.find("already in use") != std::string::npos;
      if (!port_taken || attempt == 4) fail("the server did not start", server_log());
    }
    create_database("tensority");
  }

  bool start() {
    const std::string options = "-h 127.0.0.1 -p " + std::to_string(port_) + " -k " + sockets_.string() +
                                " -F -c full_page_writes=off -c synchronous_commit=off -c max_connections=40";
    return run(server_command({(bin_ / "pg_ctl").string(), "-D", data_.string(), "-l", server_log(), "-w", "-t", "30",
                               "-o", options, "start"}),
               (dir_.path / "pg_ctl.log").string()) == 0;
  }

  void stop() {
    run(server_command({(bin_ / "pg_ctl").string(), "-D", data_.string(), "-m", "immediate", "stop"}),
        (dir_.path / "stop.log").string());
    port_ = 0;
  }

  // `done`: everything is cleaned up already, the watchdog just leaves. Otherwise it stops the
  // server and removes the directory itself, and we wait for that.
  void release_watchdog(bool done) {
    if (watchdog_write_ < 0) return;
    if (done) (void)!::write(watchdog_write_, "done\n", 5);
    ::close(watchdog_write_);
    watchdog_write_ = -1;
    if (watchdog_pid_ > 0) ::waitpid(watchdog_pid_, nullptr, 0);
    watchdog_pid_ = -1;
  }

  // Runs argv to completion with its output in `log`; answers its exit code.
  static int run(const std::vector<std::string>& argv, const std::string& log) {
    Process process(argv, log);
    return process.wait();
  }

  std::vector<std::string> server_command(std::vector<std::string> argv) const {
    if (runuser_.empty()) return argv;
    std::vector<std::string> wrapped = {runuser_, "-u", "postgres", "--"};
    wrapped.insert(wrapped.end(), argv.begin(), argv.end());
    return wrapped;
  }

  // A shell reading its stdin from a pipe only we write to: if we die, it reads end-of-file
  // instead of "done" and cleans up after us.
  void start_watchdog() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return;  // best effort: the destructor still cleans up
    std::string stop;
    for (const std::string& arg :
         server_command({(bin_ / "pg_ctl").string(), "-D", data_.string(), "-m", "immediate", "stop"})) {
      stop += "'" + arg + "' ";
    }
    const std::string script = "trap '' INT TERM HUP; read -r line; [ \"$line\" = done ] && exit 0; " + stop +
                               ">/dev/null 2>&1; rm -rf '" + dir_.path.string() + "'";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[0], STDIN_FILENO);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID);
    std::vector<std::string> argv = {"/bin/sh", "-c", script};
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    if (posix_spawn(&watchdog_pid_, args[0], &actions, &attributes, args.data(), environ) != 0) watchdog_pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    ::close(fds[0]);
    if (watchdog_pid_ > 0) {
      watchdog_write_ = fds[1];
    } else {
      ::close(fds[1]);
    }
  }

  static int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof(address);
    int port = 0;
    if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0) {
      port = ntohs(address.sin_port);
    }
    if (fd >= 0) ::close(fd);
    if (port == 0) throw std::runtime_error("cannot find a free TCP port");
    return port;
  }

  static std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  static std::string last_line(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    const std::size_t newline = text.rfind('\n');
    return newline == std::string::npos ? text : text.substr(newline + 1);
  }

  // Shows the whole log on stderr (the one-line reason says little) and gives up.
  [[noreturn]] void fail(const std::string& what, const std::string& log_path) {
    const std::string log = read_file(log_path);
    std::cerr << "---- " << log_path << " ----\n" << log << "---- end of " << log_path << " ----\n";
    const std::string last = last_line(log);
    throw std::runtime_error(what + ": " + (last.empty() ? std::string("no output") : last));
  }

  std::filesystem::path bin_;
  TempDir dir_;
  std::filesystem::path data_;
  std::filesystem::path sockets_;
  std::string runuser_;
  int port_ = 0;
  pid_t watchdog_pid_ = -1;
  int watchdog_write_ = -1;
};

}  // namespace tensority::test
