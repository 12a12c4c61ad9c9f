#include "actors/metrics/process_stats.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace portask {

process_stats read_process_stats() {
  process_stats s;
  std::ifstream stat_file("/proc/self/stat");
  std::string stat;
  if (!std::getline(stat_file, stat)) return s;
  // Fields after the command name (which may hold spaces) start at its closing parenthesis.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return s;
  std::istringstream fields(stat.substr(close + 2));
  std::string f;
  std::uint64_t utime = 0, stime = 0, starttime = 0, vsize = 0;
  std::int64_t rss_pages = 0;
  // Field 3 is the state; utime and stime are 14 and 15, starttime 22, vsize 23, rss 24.
  for (int i = 3; i <= 24 && fields >> f; ++i) {
    if (i == 14) utime = std::stoull(f);
    if (i == 15) stime = std::stoull(f);
    if (i == 22) starttime = std::stoull(f);
    if (i == 23) vsize = std::stoull(f);
    if (i == 24) rss_pages = std::stoll(f);
  }
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  s.cpu_seconds = static_cast<double>(utime + stime) / ticks;
  s.virtual_bytes = vsize;
  s.resident_bytes = static_cast<std::uint64_t>(std::max<std::int64_t>(0, rss_pages)) *
                     static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
  std::ifstream proc_stat("/proc/stat");
  for (std::string line; std::getline(proc_stat, line);)
    if (line.rfind("btime ", 0) == 0)
      s.start_time_seconds = std::stod(line.substr(6)) + static_cast<double>(starttime) / ticks;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (const dirent* e = readdir(d))
      if (e->d_name[0] != '.') ++s.open_fds;
    closedir(d);
    --s.open_fds;  // the directory handle itself
  }
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0) s.max_fds = nofile.rlim_cur;
  s.valid = true;
  return s;
}

}  // namespace portask
