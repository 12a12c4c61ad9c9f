#pragma once
/// The process_* figures every Prometheus client exports (the names and units of the
/// official clients' process collector), read from /proc on Linux.

#include <cstdint>

namespace portask {

struct process_stats {
  double cpu_seconds = 0;       ///< user + system CPU time
  double start_time_seconds = 0;  ///< since the Unix epoch
  std::uint64_t resident_bytes = 0;
  std::uint64_t virtual_bytes = 0;
  std::uint64_t open_fds = 0;
  std::uint64_t max_fds = 0;
  bool valid = false;  ///< false where /proc could not be read
};

process_stats read_process_stats();

}  // namespace portask
