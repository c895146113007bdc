# Every dependency comes from Debian packages installed by scripts/install-deps.
# Nothing is downloaded at configure time.
find_package(Threads REQUIRED)
find_package(OpenSSL 3.0 REQUIRED COMPONENTS Crypto SSL)
find_package(Boost 1.74 REQUIRED)            # header-only: Boost.Multiprecision
find_package(PkgConfig REQUIRED)
pkg_check_modules(HWLOC REQUIRED IMPORTED_TARGET hwloc>=2.0)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
if(BUILD_NODE)
  pkg_check_modules(ROCKSDB REQUIRED IMPORTED_TARGET rocksdb>=7.0)  # node storage (shared librocksdb)
endif()
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium>=1.0.18)  # ed25519
find_package(yaml-cpp 0.7 REQUIRED)  # config files
if(BUILD_POOL)
  pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3>=3.35)  # pool store (default, WAL)
  pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq>=13)       # pool store on PostgreSQL
endif()
if(BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
