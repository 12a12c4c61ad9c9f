#pragma once
/// Which Host a request to the console, /topics or the API may name. A page on another site
/// cannot read the broker's answers, unless that site's name is made to resolve to the
/// broker (DNS rebinding): the browser then takes the broker for the page's own site and
/// lets it read and change whatever the API offers (with authorization off, everything,
/// messages included). Its requests name the site in Host, so answering only the names the
/// broker is reached by stops it: IP literals, localhost names (RFC 6761: they always
/// resolve to loopback), the listeners' and advertised hosts, and the names
/// `http.allowed_hosts` adds ("*": any name). /health and /metrics answer any Host, since
/// probes and Prometheus name brokers as they please.

#include <string>
#include <string_view>
#include <vector>

#include "actors/runtime/broker_config.hpp"

namespace portask {

/// The names beyond IP literals and localhost that requests to this broker may give.
std::vector<std::string> http_host_names(const broker_config& c);

/// Whether a Host header ("name", "name:port", "1.2.3.4:80", "[::1]:8080"; empty when the
/// request has none, as HTTP/1.0 allows) names this broker. Names compare case-insensitively
/// and without a trailing dot. The request's only Host: one with several is refused before
/// (request_defect, http_request.hpp), since which of them a proxy went by is anyone's guess.
bool host_allowed(std::string_view host_header, const std::vector<std::string>& names);

}  // namespace portask
