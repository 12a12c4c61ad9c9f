#include "actors/connections/http/http_request.hpp"

#include <boost/beast/core/string.hpp>

namespace portask {

namespace beast = boost::beast;
namespace http = beast::http;

void limit_request_parser(http_request_parser& parser, std::uint32_t max_bytes) {
  parser.header_limit(max_bytes);
  parser.body_limit(max_bytes);
}

std::size_t read_buffer_limit(std::uint32_t max_bytes) noexcept {
  return 2 * static_cast<std::size_t>(max_bytes) + 1024;
}

http_route route_of(http::verb method, std::string_view target) noexcept {
  // A query string does not change the route (Prometheus scrapers may add one).
  target = target.substr(0, target.find('?'));
  if (target == "/api" || target.starts_with("/api/")) return http_route::api;
  const bool console = target == "/" || target.starts_with("/console/");
  if (!console && target != "/metrics" && target != "/health" && target != "/topics")
    return http_route::not_found;
  // HEAD wherever GET (RFC 9110): the same headers, no body (http_server's write()).
  if (method != http::verb::get && method != http::verb::head) return http_route::method_not_allowed;
  if (console) return http_route::console;
  if (target == "/metrics") return http_route::metrics;
  if (target == "/health") return http_route::health;
  return http_route::topics;
}

std::string_view request_defect(const http::request_header<>& request) {
  const auto codings = request.count(http::field::transfer_encoding);
  if (codings > 1 || (codings == 1 && !beast::iequals(request[http::field::transfer_encoding], "chunked")))
    return "only the chunked transfer coding is accepted";
  const auto hosts = request.count(http::field::host);
  if (hosts > 1) return "more than one Host header";
  if (hosts == 0 && request.version() >= 11) return "an HTTP/1.1 request without a Host header";
  return {};
}

http_parse_outcome parse_http_request(std::string_view bytes, std::uint32_t max_bytes) {
  http_request_parser parser;
  limit_request_parser(parser, max_bytes);
  // The header on its own first, as the server reads it: its defect is the header's, before a
  // chunked body's trailer fields join its fields.
  parser.eager(false);
  http_parse_outcome out;
  std::string_view header_defect;  // told only once the whole request was read, as the server tells it
  boost::asio::const_buffer in{bytes.data(), bytes.size()};
  while (in.size() > 0 && !parser.is_done()) {
    const auto used = parser.put(in, out.error);
    // As the server's read fails: its buffer is full of bytes the parser cannot take yet.
    if (out.error == http::error::need_more && in.size() - used >= read_buffer_limit(max_bytes))
      out.error = http::error::buffer_overflow;
    if (out.error) return out;
    if (used == 0) break;
    in += used;
    if (parser.is_header_done() && !parser.eager()) {
      header_defect = request_defect(parser.get());
      parser.eager(true);
    }
  }
  if (!parser.is_done()) {
    out.error = http::error::need_more;
    return out;
  }
  out.defect = header_defect;
  const auto& req = parser.get();
  const auto target = req.target();
  out.route = route_of(req.method(), std::string_view(target.data(), target.size()));
  return out;
}

}  // namespace portask
