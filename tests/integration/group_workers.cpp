#include "group_workers.hpp"

#include <fstream>
#include <sstream>

namespace portask::test {

worker_log read_worker_log(const std::string& path, std::size_t max_lines) {
  worker_log log;
  std::ifstream in(path);
  std::string line;
  while (log.lines < max_lines && std::getline(in, line)) {
    ++log.lines;
    std::istringstream words(line);
    std::string kind;
    words >> kind;
    if (kind == "ASSIGN") {
      log.assignment.clear();
      std::string list;
      words >> list;
      std::istringstream parts(list);
      std::string p;
      while (std::getline(parts, p, ','))
        if (!p.empty()) log.assignment.push_back(std::stoi(p));
    } else if (kind == "REC") {
      worker_record r;
      words >> r.partition >> r.offset >> r.value;
      log.records.push_back(std::move(r));
    } else if (kind == "COMMIT") {
      std::int32_t p = 0;
      std::int64_t o = 0;
      words >> p >> o;
      log.committed[p] = std::max(log.committed[p], o);
    } else if (kind == "CLOSED") {
      log.closed = true;
    }
  }
  return log;
}

std::map<std::pair<std::int32_t, std::int64_t>, int> deliveries(const std::vector<worker_log>& logs) {
  std::map<std::pair<std::int32_t, std::int64_t>, int> seen;
  for (const auto& l : logs)
    for (const auto& r : l.records) ++seen[{r.partition, r.offset}];
  return seen;
}

std::vector<std::string> unjustified_redeliveries(
    const std::map<std::pair<std::int32_t, std::int64_t>, int>& seen,
    const std::map<std::int32_t, std::int64_t>& committed_before) {
  std::vector<std::string> bad;
  for (const auto& [pos, times] : seen) {
    if (times == 1) continue;
    auto c = committed_before.find(pos.first);
    if (c != committed_before.end() && pos.second < c->second)
      bad.push_back("partition " + std::to_string(pos.first) + " offset " +
                    std::to_string(pos.second) + " delivered " + std::to_string(times) +
                    " times though committed before the disruption");
  }
  return bad;
}

}  // namespace portask::test
