#pragma once
/// The HTTP endpoint's request side, apart from its sockets: how a request is parsed (Beast,
/// with the broker's size limits) and which route it asks for. Kept separate so the parser
/// can be fuzzed exactly as the server configures it.

#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace portask {

using http_request_parser = boost::beast::http::request_parser<boost::beast::http::string_body>;

/// Applies the limits: header and body each at most `max_bytes`.
void limit_request_parser(http_request_parser& parser, std::uint32_t max_bytes);

/// The most bytes a connection's read buffer may hold (read, not yet parsed). The parser
/// limits a header and a body, but the framing of a chunked body (a chunk-size line with its
/// extensions, the trailer section) it takes only once that line or section is whole, and
/// bounds neither: a client that never ends one would have the buffer grow for as long as it
/// sends, refused by the Host or credentials check or not (a refusal is written once the body
/// is read, unless the client expects 100-continue). Twice `max_bytes` and a little: a header over
/// the limit is refused as one (header_limit) before the buffer is full, and a body's framing
/// that fills it is answered 413 (the read fails with http::error::buffer_overflow).
std::size_t read_buffer_limit(std::uint32_t max_bytes) noexcept;

/// Which handler a request goes to: the fixed GET endpoints, the web console's pages (GET / and
/// /console/...), and the JSON API (/api/..., any method: the API answers 405 itself).
enum class http_route { metrics, health, topics, console, api, not_found, method_not_allowed };
http_route route_of(boost::beast::http::verb method, std::string_view target) noexcept;

/// Why a request Beast has read must still be refused (400, and the connection closed), or
/// empty. Beast checks the syntax and refuses two Content-Lengths; the rest of the framing is
/// left to the server: a body in a transfer coding other than chunked alone cannot be read
/// (RFC 9112 6.3: read as no body, its bytes would be taken for the next request), and an
/// HTTP/1.1 request must have exactly one Host (RFC 9112 3.2). Beast keeps every Host it
/// reads and hands out the first, while a proxy in front may go by another: the Host check
/// (host_check.hpp) must see the one Host there is. HTTP/1.0 may go without. Ask it of the
/// header as read, before the body: Beast adds a chunked body's trailer fields to the same
/// fields, and a Host there is none (RFC 9110 6.5.1).
std::string_view request_defect(const boost::beast::http::request_header<>& request);

/// Parses `bytes` as one request with the limits: the route and the request's defect (its
/// header's, decided before the body is read, as the server does: a chunked body's trailer
/// fields, which Beast adds to the same fields, do not count) if a whole request was read,
/// or the parser's error (incomplete input is
/// boost::beast::http::error::need_more; input the parser cannot take yet that reaches
/// read_buffer_limit, where a server's read buffer is full, buffer_overflow).
struct http_parse_outcome {
  boost::beast::error_code error;
  http_route route = http_route::not_found;
  std::string_view defect;  ///< request_defect's; empty: the request can be served
};
http_parse_outcome parse_http_request(std::string_view bytes, std::uint32_t max_bytes);

}  // namespace portask
