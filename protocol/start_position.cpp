#include "protocol/start_position.hpp"

#include <algorithm>
#include <charconv>

namespace portask::protocol {
namespace {

std::optional<std::int64_t> parse_number(std::string_view s) {
  std::int64_t v = 0;
  if (s.empty()) return std::nullopt;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::optional<start_position> parse_start_position(std::string_view text) {
  using k = start_position::kind;
  if (text == "earliest" || text == "beginning") return start_position{k::earliest, 0};
  if (text == "latest" || text == "end") return start_position{k::latest, 0};
  if (text == "committed") return start_position{k::committed, 0};
  if (text.starts_with('@')) {
    auto ts = parse_number(text.substr(1));
    if (!ts || *ts < 0) return std::nullopt;
    return start_position{k::timestamp, *ts};
  }
  if (text.starts_with('-')) {
    auto n = parse_number(text.substr(1));
    if (!n || *n <= 0) return std::nullopt;
    return start_position{k::from_end, *n};
  }
  auto offset = parse_number(text);
  if (!offset || *offset < 0) return std::nullopt;
  return start_position{k::absolute, *offset};
}

std::int64_t resolve_offset(const start_position& p, std::int64_t log_start,
                            std::int64_t high_watermark) {
  using k = start_position::kind;
  switch (p.what) {
    case k::latest: return high_watermark;
    case k::absolute: return p.value;
    case k::from_end: return std::max(log_start, high_watermark - p.value);
    case k::earliest:
    case k::committed:
    case k::timestamp: break;
  }
  return log_start;
}

std::optional<std::string> outside_log(const start_position& p, std::string_view partition,
                                       std::int64_t log_start, std::int64_t high_watermark) {
  if (p.what != start_position::kind::absolute || (p.value >= log_start && p.value <= high_watermark))
    return std::nullopt;
  const auto start = std::to_string(log_start), end = std::to_string(high_watermark);
  return std::to_string(p.value) + " is outside partition " + std::string(partition) + ": its log start is " +
         start + " and its high watermark " + end + " (an offset from " + start + " to " + end +
         " can be a start)";
}

}  // namespace portask::protocol
