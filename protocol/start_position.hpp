#pragma once
/// Where a reader starts in a partition, as a user names it (portask-cli --from, the console
/// and /api/ `from`):
///   earliest | beginning   the log start
///   latest | end           the high watermark (only new messages)
///   committed              the group's committed offset (needs --group)
///   <offset>               an absolute offset
///   -<N>                   N messages before the high watermark, per partition
///   @<timestamp>           the first message stamped at or after it (ms since the epoch)

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace portask::protocol {

struct start_position {
  enum class kind { earliest, latest, committed, absolute, from_end, timestamp };
  kind what = kind::earliest;
  std::int64_t value = 0;  ///< the offset, N, or the timestamp
};

/// The position `text` names, or nothing when it names none (a usage error).
std::optional<start_position> parse_start_position(std::string_view text);

/// Where to start in a partition whose log spans [log_start, high_watermark), for the kinds
/// that need no lookup (earliest, latest, absolute, from_end).
std::int64_t resolve_offset(const start_position& p, std::int64_t log_start,
                            std::int64_t high_watermark);

/// Why `p` cannot start a read of the partition `partition` ("orders/0") whose log spans
/// [log_start, high_watermark), or nothing: an absolute offset outside it, which a read would
/// meet with offset_out_of_range, a code that says nothing of where the log is. Said as
/// "5 is outside partition orders/0: its log start is ..." (the CLI puts "--from " before it,
/// the API "from "). The other kinds stay inside the log by themselves.
std::optional<std::string> outside_log(const start_position& p, std::string_view partition,
                                       std::int64_t log_start, std::int64_t high_watermark);

}  // namespace portask::protocol
