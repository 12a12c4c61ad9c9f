# Every third-party dependency, found once, as imported targets. All are Debian 12 packages
# installed by tools/setup; nothing is downloaded at build time.

find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(ZLIB REQUIRED)
find_package(OpenSSL 3.0 REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
pkg_check_modules(LZ4 REQUIRED IMPORTED_TARGET liblz4)
pkg_check_modules(SNAPPY REQUIRED IMPORTED_TARGET snappy)
# CRC32 of frames (zlib's values at carry-less-multiplication speed)
pkg_check_modules(ISAL REQUIRED IMPORTED_TARGET libisal)

# Runtime and tools (storage/, actors/, tools/).
find_package(CAF 0.17 REQUIRED)
find_package(spdlog REQUIRED)
find_package(Boost 1.74 REQUIRED)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)
find_package(yaml-cpp REQUIRED)
find_package(CLI11 REQUIRED)
# The broker's allocator (tools/portask): memory a connection's thread allocates is often freed
# on a CAF worker and the other way round, which glibc's per-thread caches serve poorly
# (docs/benchmarks.md). Not with the sanitizers, whose own allocator must see every call, nor
# in the fuzz build, which builds no broker.
if(PORTASK_JEMALLOC AND NOT PORTASK_SANITIZE AND NOT PORTASK_FUZZ)
  pkg_check_modules(JEMALLOC REQUIRED IMPORTED_TARGET jemalloc)
endif()

if(PORTASK_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(PORTASK_BUILD_BENCHMARKS)
  find_package(benchmark REQUIRED)
endif()
