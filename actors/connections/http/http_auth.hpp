#pragma once
/// Who is calling the HTTP API: with authorization on, the console, /topics and /api/ need
/// HTTP Basic credentials (RFC 7617) of a super user, checked against the same SCRAM
/// credentials as the Kafka and native listeners (and counted by the same brake per client
/// address); a password verified recently is taken from access_control's password_cache
/// rather than derived again. /health and /metrics stay open for probes and Prometheus
/// (unless security.http_open_probes is off).

#include <optional>
#include <string>
#include <string_view>

#include "actors/security/access_control.hpp"

namespace portask {

struct http_verdict {
  unsigned status = 200;  ///< 200: go on; 401: no or wrong credentials; 403: not a super user
  std::string why;
};

/// `authorization`: the request's Authorization header (empty when it has none).
http_verdict check_http_caller(access_control& access, std::string_view authorization,
                               const std::string& address);

}  // namespace portask
