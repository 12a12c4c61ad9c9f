// ApiVersions (key 18): the versions of every API in the table. Its response header is
// always v0, and a version we do not have (above ours, or below the lowest, as a negative
// one is) is answered at v0 with UNSUPPORTED_VERSION and the table, as Kafka answers it, so
// the client can retry with a version we have. From v3 the client names its software and
// version (KIP-511); names outside Kafka's pattern are INVALID_REQUEST, with no versions, as
// Kafka answers them.
#include "actors/connections/kafka/handlers.hpp"
#include "actors/connections/transport/log_limiter.hpp"
#include "actors/connections/transport/log_text.hpp"
#include "logging/loggers.hpp"

namespace portask::kafka {
namespace {

// Kafka's pattern for both names: letters and digits, with '-' and '.' allowed inside.
bool valid_software_word(std::string_view s) {
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (s.empty() || !alnum(s.front()) || !alnum(s.back())) return false;
  for (char c : s)
    if (!alnum(c) && c != '-' && c != '.') return false;
  return true;
}

}  // namespace

void handle_api_versions(self_ptr self, const request& r, protocol::byte_view body) {
  msg::ApiVersionsResponse res;
  for (const auto& e : api_table()) res.apiKeys.push_back({e.key, e.min_version, e.max_version});
  const auto* me = find_api(18);
  if (r.api_version < me->min_version || r.api_version > me->max_version) {
    res.errorCode = static_cast<std::int16_t>(error_code::unsupported_version);
    request v0 = r;
    v0.api_version = 0;
    respond(self, v0, res, false, true);
    return;
  }
  msg::ApiVersionsRequest req;
  if (!read_request_body(body, r, req)) {
    res.errorCode = static_cast<std::int16_t>(error_code::invalid_request);
    respond(self, r, res, false, true);
    return;
  }
  if (r.api_version >= 3 &&
      (!valid_software_word(req.clientSoftwareName) || !valid_software_word(req.clientSoftwareVersion))) {
    // The connection stays open: a client can send these at will, so one line a second.
    static log_limiter refusals;
    if (const auto events = refusals.count(); events > 0)
      logging::kafka().info("kafka: ApiVersions refused: client software '{}' version '{}' is not "
                            "letters, digits, '-' and '.'{}",
                            printable(req.clientSoftwareName), printable(req.clientSoftwareVersion),
                            more_since_last_line(events));
    res.apiKeys.clear();
    res.errorCode = static_cast<std::int16_t>(error_code::invalid_request);
    respond(self, r, res, false, true);
    return;
  }
  respond(self, r, res, false);
}

}  // namespace portask::kafka
