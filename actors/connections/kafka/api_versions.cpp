// ApiVersions (key 18): the versions of every API in the table. Its response header is
// always v0, and a version we do not know is answered at v0 with UNSUPPORTED_VERSION and
// the table, so the client can retry with a version we have.
#include "actors/connections/kafka/handlers.hpp"

namespace portask::kafka {

void handle_api_versions(self_ptr self, const request& r, protocol::byte_view body) {
  msg::ApiVersionsResponse res;
  for (const auto& e : api_table()) res.apiKeys.push_back({e.key, e.min_version, e.max_version});
  const auto* me = find_api(18);
  if (r.api_version > me->max_version) {
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
  respond(self, r, res, false);
}

}  // namespace portask::kafka
