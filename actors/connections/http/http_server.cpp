#include "actors/connections/http/http_server.hpp"

#include "actors/connections/transport/peer_address.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/asio/ssl.hpp>

#include <nlohmann/json.hpp>
#include <mutex>
#include <optional>
#include <sstream>
#include <unordered_map>

#include "actors/connections/http/http_api.hpp"
#include "actors/connections/http/host_check.hpp"
#include "actors/connections/http/http_auth.hpp"
#include "actors/connections/http/http_request.hpp"
#include "console/console_assets.hpp"
#include "actors/connections/transport/log_limiter.hpp"
#include "actors/connections/transport/log_text.hpp"
#include "actors/connections/transport/tls_context.hpp"
#include "logging/loggers.hpp"

namespace portask {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// A JSON string of text that may hold anything a client sent (bytes that are not UTF-8 are
// replaced, so the body stays JSON).
std::string json_string(std::string_view s) {
  return nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string json_error(std::string_view why) { return "{\"error\":" + json_string(why) + "}\n"; }

class http_session;

}  // namespace

// Why no actor holds a session: a session owns a socket (and a timer) of the broker's Asio
// context, and destroying one, or posting to its executor, after the broker has stopped and
// destroyed that context is a use after free. Actors outlive the context (a request's actor
// waits up to its request timeouts, and the actor system ends after the broker), so an actor
// that answers a request holds the session only weakly, plus this gate: it posts its answer
// under the mutex, only while `stopping` is false, and the answer finds the session (if it
// still exists) on the Asio thread. Meanwhile `awaiting` holds the session. The server
// closes the gate before the broker stops the context, and lets go of every session while
// the context exists (stop_connections, or at the latest its destructor, which the broker
// runs before the context's). So a session only ever ends on the Asio thread or while the
// context is torn down, and nothing reaches the context once it is gone, by construction,
// whatever the actors do and however long they take.
struct http_sessions {
  explicit http_sessions(asio::io_context::executor_type e) : executor(e) {}
  http_sessions(const http_sessions&) = delete;
  http_sessions& operator=(const http_sessions&) = delete;

  const asio::io_context::executor_type executor;  ///< used only while !stopping
  std::mutex mutex;
  bool stopping = false;  ///< under mutex: answers are dropped, no request is handed on
  /// Every session not yet destroyed, for closing them at shutdown. Under mutex.
  std::unordered_map<const http_session*, std::weak_ptr<http_session>> live;
  /// Sessions whose request an actor is answering: the only strong reference each has
  /// meanwhile. Under mutex; never let go of under it (a session's destructor takes it).
  std::unordered_map<const http_session*, std::shared_ptr<http_session>> awaiting;
};

namespace {

class http_session : public limited_connection,
                     public std::enable_shared_from_this<http_session> {
 public:
  http_session(tcp::socket s, caf::actor_system& sys, std::shared_ptr<broker_context> ctx,
               supervisor_actor supervisor, std::shared_ptr<connection_table> table,
               std::shared_ptr<asio::ssl::context> tls,
               std::shared_ptr<const std::vector<std::string>> host_names,
               std::shared_ptr<http_sessions> sessions)
      : stream_(std::move(s)), sys_(sys), ctx_(std::move(ctx)), supervisor_(std::move(supervisor)),
        table_(std::move(table)), host_names_(std::move(host_names)),
        tls_context_(std::move(tls)), sessions_(std::move(sessions)) {
    touch();
    buffer_.max_size(read_buffer_limit(ctx_->config.http_max_request_bytes));
    if (tls_context_) tls_ = std::make_unique<asio::ssl::stream<beast::tcp_stream&>>(stream_, *tls_context_);
  }
  ~http_session() override {
    {
      std::lock_guard guard{sessions_->mutex};
      sessions_->live.erase(this);
    }
    table_->leave(this);
    ctx_->metrics.listener_connection(listener_kind::http, -1);
  }

  void start() {
    if (!tls_) return read();
    // The handshake is bounded like a request.
    if (const auto limit = time_limit_ms()) stream_.expires_after(std::chrono::milliseconds(limit));
    // OpenSSL keeps no peer certificate it refused: its subject is taken while it is checked.
    auto refused_subject = std::make_shared<std::string>();
    tls_->set_verify_callback(remember_refused_subject(refused_subject));
    tls_->async_handshake(asio::ssl::stream_base::server,
                          [self = shared_from_this(), refused_subject](const boost::system::error_code& ec) {
                            if (!ec) return self->read();
                            self->ctx_->metrics.connection_limited(listener_kind::http,
                                                                   connection_limit::tls_handshake);
                            static log_limiter failures;
                            if (const auto n = failures.count(); n > 0)
                              logging::http().info("http: {} TLS handshake(s) failed; the last: {}{}", n,
                                                   ec.message(),
                                                   tls_refusal(self->tls_->native_handle(), *refused_subject));
                            self->close();
                          });
  }

  bool idle() const noexcept override { return waiting_.load(std::memory_order_relaxed); }
  std::chrono::steady_clock::time_point last_active() const noexcept override {
    return std::chrono::steady_clock::time_point{
        std::chrono::steady_clock::duration{last_active_ns_.load(std::memory_order_relaxed)}};
  }
  void evict() override {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      self->ctx_->metrics.connection_limited(listener_kind::http, connection_limit::evicted_idle);
      self->close();
    });
  }

  /// On the Asio thread. Also how the server ends a session at shutdown: whatever it waits
  /// for (a handshake, a request, a write) completes at once, aborted.
  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

 private:
  void touch() noexcept {
    last_active_ns_.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                          std::memory_order_relaxed);
  }

  // How long a handshake, a request (and the wait for it) or the writing of an answer may
  // take: the request timeout, or the idle limit when that is 0; 0 when both are.
  std::uint32_t time_limit_ms() const noexcept {
    const auto& c = ctx_->config;
    return c.request_timeout_ms ? c.request_timeout_ms : c.connections_max_idle_ms;
  }

  using response_ptr = std::shared_ptr<http::response<http::string_body>>;

  // The header first, then the body (read_body): what the header decides is decided in
  // between (on_header), and a client that expects 100 Continue is answered there.
  void read() {
    parser_.emplace();
    limit_request_parser(*parser_, ctx_->config.http_max_request_bytes);
    // The request timeout bounds both a request in progress and the wait for the next one.
    const auto limit = time_limit_ms();
    if (limit)
      stream_.expires_after(std::chrono::milliseconds(limit));
    else
      stream_.expires_never();
    waiting_ = true;
    auto done = [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->waiting_ = false;
      self->touch();
      if (ec) return self->on_read_error(ec);
      self->on_header();
    };
    if (tls_)
      http::async_read_header(*tls_, buffer_, *parser_, std::move(done));
    else
      http::async_read_header(stream_, buffer_, *parser_, std::move(done));
  }

  // What the request's header decides, taken as soon as it is read and before its body: Beast
  // adds the fields of a chunked body's trailer section to the same fields once it reads the
  // body, and trailer fields are no header fields (RFC 9110 6.5.1): a Host, credentials, a
  // Connection or a Content-Type sent there must count for nothing. handle() reads the
  // request's fields no more.
  struct header_verdict {
    response_ptr res;      ///< the answer, in the request's version, kept alive as its header asks
    response_ptr refusal;  ///< header_refusal()'s, ready to write; null: the header passed
    bool json_body = false;  ///< labelled Content-Type: application/json
  };

  // RFC 9110 10.1.1: a client that sent `Expect: 100-continue` waits for an interim 100
  // before it sends the body (curl for a second, then sends it anyway). Only HTTP/1.1
  // clients may ask (an HTTP/1.0 one's expectation is ignored), and only a request with a
  // body to come needs one. What the header alone decides (its framing, Host, credentials;
  // a body over the limit was refused as the header was read) is answered first, as the
  // final status and a close, the body unread. Any other request refused so is told once
  // its body has been read, as ever.
  void on_header() {
    const auto& request = parser_->get();
    header_verdict header;
    header.res = response_to(request);
    const auto type = request[http::field::content_type];
    header.json_body = beast::iequals(type.substr(0, type.find(';')), "application/json");
    header.refusal = header_refusal(header.res);
    if (parser_->is_done() || request.version() < 11 ||
        !beast::iequals(request[http::field::expect], "100-continue"))
      return read_body(std::move(header));
    if (header.refusal) {
      header.refusal->keep_alive(false);  // the body the client may still send is not read
      return write(header.refusal);
    }
    auto interim = std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
    auto sent = [self = shared_from_this(), interim, header](beast::error_code ec, std::size_t) {
      if (ec) return self->close();
      self->read_body(header);
    };
    // Within the request's deadline, still running: the 100 is part of reading the request.
    if (tls_)
      http::async_write(*tls_, *interim, std::move(sent));
    else
      http::async_write(stream_, *interim, std::move(sent));
  }

  void read_body(header_verdict header) {
    waiting_ = true;  // evictable as before: a request not read whole is not being served
    auto done = [self = shared_from_this(), verdict = std::move(header)](beast::error_code ec, std::size_t) {
      self->waiting_ = false;
      self->touch();
      if (ec) return self->on_read_error(ec);
      self->handle(verdict);
    };
    if (tls_)
      http::async_read(*tls_, buffer_, *parser_, std::move(done));
    else
      http::async_read(stream_, buffer_, *parser_, std::move(done));
  }

  void on_read_error(beast::error_code ec) {
    head_ = false;  // an answer to a request that fails to parse (413, 431) has its body
    if (ec == beast::error::timeout) {
      ctx_->metrics.connection_limited(listener_kind::http, connection_limit::request_timeout);
      static log_limiter timeouts;
      if (const auto n = timeouts.count(); n > 0)
        logging::http().info("http: {} connection(s) closed: no whole request within the request timeout", n);
      return close();
    }
    const auto max_bytes = std::to_string(ctx_->config.http_max_request_bytes);
    if (ec == http::error::header_limit || ec == http::error::body_limit) {
      ctx_->metrics.request_limited(request_limit::http_request_size);
      static log_limiter oversize;
      if (const auto n = oversize.count(); n > 0)
        logging::http().warn("http: {} request(s) over {} bytes answered 413/431 and closed", n, max_bytes);
      return respond(closing_response(),
                     ec == http::error::header_limit ? http::status::request_header_fields_too_large
                                                     : http::status::payload_too_large,
                     json_error("request too large: over " + max_bytes + " bytes (http_max_request_bytes)"));
    }
    // The read buffer is full of a chunked body's framing the parser cannot take yet: a
    // chunk-size line, its extensions or the trailer section that does not end
    // (read_buffer_limit). 413, as these belong to the body (RFC 9112 7.1); the header, over
    // its limit, would have been refused before the buffer filled.
    if (ec == http::error::buffer_overflow) {
      ctx_->metrics.request_limited(request_limit::http_request_size);
      static log_limiter runaway;
      if (const auto n = runaway.count(); n > 0)
        logging::http().warn("http: {} chunked request(s) whose chunk-size line, chunk extensions or trailer "
                             "ran past {} bytes answered 413 and closed", n, buffer_.max_size());
      return respond(closing_response(), http::status::payload_too_large,
                     json_error("request too large: a chunk-size line, chunk extensions or trailer fields "
                                "that run past " + std::to_string(buffer_.max_size()) +
                                " bytes (twice http_max_request_bytes and 1 KiB)"));
    }
    // A client that closed between requests or in the middle of one has nothing to be told.
    if (ec.category() == beast::http::make_error_code(http::error::bad_method).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message) {
      static log_limiter malformed;
      if (const auto n = malformed.count(); n > 0)
        logging::http().info("http: {} malformed request(s) answered 400 and closed; the last: {}", n,
                             ec.message());
      return write(bad_request("malformed request: " + ec.message()));
    }
    close();
  }

  // An answer to a request that could not be read whole: the connection closes after it.
  static response_ptr closing_response() {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(11);
    res->keep_alive(false);
    return res;
  }

  response_ptr bad_request(std::string why) {
    auto res = closing_response();
    res->result(http::status::bad_request);
    res->set(http::field::content_type, "application/json");
    res->body() = json_error(why);
    res->prepare_payload();
    return res;
  }

  // The answer to the request whose header has been read, in its version, kept alive as it asks.
  response_ptr response_to(const http::request<http::string_body>& request) {
    head_ = request.method() == http::verb::head;  // set anew for each request
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(request.version());
    res->keep_alive(request.keep_alive());
    res->set(http::field::server, "portask");
    return res;
  }

  // What the request's header alone decides, whatever it asks for: a request framed so that
  // it cannot be read right, or without the one Host the Host check needs (request_defect),
  // a Host that is not this broker's, a caller without the credentials its route needs. The
  // refusal, ready to write (`res`, or a 400 that closes), or null. Only on_header() asks,
  // before the body (and a trailer section's fields) is read.
  response_ptr header_refusal(const response_ptr& res) {
    const auto& request = parser_->get();
    const auto target = request.target();
    if (const auto defect = request_defect(request); !defect.empty()) {
      static log_limiter defects;
      if (const auto n = defects.count(); n > 0)
        logging::http().info("http: {} request(s) answered 400 and closed; the last: {}", n, defect);
      return bad_request(std::string(defect));
    }
    const auto route = route_of(request.method(), std::string_view(target.data(), target.size()));
    const bool probe = route == http_route::health || route == http_route::metrics;
    const bool guarded = route == http_route::topics || route == http_route::console || route == http_route::api;
    if (guarded) {
      const auto host = request[http::field::host];  // the only one, or none (HTTP/1.0)
      if (!host_allowed(std::string_view(host.data(), host.size()), *host_names_)) {
        static log_limiter strangers;
        if (const auto n = strangers.count(); n > 0)
          logging::http().warn("http: {} request(s) naming another host refused; the last named '{}' "
                               "(a DNS-rebinding page, or a name to add to http.allowed_hosts)",
                               n, printable(std::string_view(host.data(), host.size()), 128));
        set_json(*res, http::status::forbidden,
                 json_error("the Host this request names is not one of this broker's (add it to "
                            "http.allowed_hosts / --http-allowed-hosts)"));
        return res;
      }
    }
    if (guarded || (probe && !ctx_->config.security.http_open_probes)) {
      const auto header = request[http::field::authorization];
      boost::system::error_code ec;
      const auto peer = stream_.socket().remote_endpoint(ec);
      const auto verdict = check_http_caller(ctx_->access, std::string_view(header.data(), header.size()),
                                             ec ? std::string("unknown") : canonical_address(peer.address()).to_string());
      if (verdict.status != 200) {
        static log_limiter refusals;
        if (const auto n = refusals.count(); n > 0)
          logging::http().info("http: {} request(s) refused; the last: {} {}", n,
                               printable(std::string_view(target.data(), target.size()), 128),
                               printable(verdict.why, 256));
        if (verdict.status == 401) res->set(http::field::www_authenticate, "Basic realm=\"portask\"");
        if (verdict.status == 429) res->set(http::field::retry_after, "60");
        if (verdict.status == 503) res->set(http::field::retry_after, "1");
        set_json(*res, static_cast<http::status>(verdict.status), json_error(verdict.why));
        return res;
      }
    }
    return nullptr;
  }

  // The request read whole; what its header decided came before its body (on_header). From
  // the request it takes only its start line and its body.
  void handle(const header_verdict& header) {
    if (header.refusal) return write(header.refusal);
    const auto& request = parser_->get();
    const auto& res = header.res;
    const auto target = request.target();
    const auto route = route_of(request.method(), std::string_view(target.data(), target.size()));
    switch (route) {
      // Errors outside the API are JSON too (docs/operations.md): a script reads every
      // refusal of this port the same way.
      case http_route::method_not_allowed:
        return respond(res, http::status::method_not_allowed, json_error("only GET and HEAD"), "GET, HEAD");
      case http_route::metrics:
        res->result(http::status::ok);
        res->set(http::field::content_type, "text/plain; version=0.0.4");
        res->body() = ctx_->metrics.render_prometheus();
        break;
      case http_route::health: {
        // The status follows the store alone: a crash loop (docs/operations.md,
        // "Supervision") is reported, but a node serving everything else stays in rotation.
        const bool up = ctx_->metrics.store_up();
        std::string crash_loop;
        for (const auto& kind : ctx_->metrics.crash_looping())
          crash_loop += (crash_loop.empty() ? "\"" : ",\"") + kind + "\"";
        res->result(up ? http::status::ok : http::status::service_unavailable);
        res->set(http::field::content_type, "application/json");
        std::string cluster;
        if (const auto view = ctx_->cluster(); view->clustered) {
          std::size_t owned = 0;
          for (const auto& [tp, h] : view->holders) owned += view->owns(tp);
          cluster = ",\"node_id\":" + std::to_string(view->self) + ",\"live_nodes\":" +
                    std::to_string(view->live.size()) + ",\"owned_partitions\":" + std::to_string(owned);
        }
        res->body() = std::string("{\"status\":\"") + (up ? "ok" : "degraded") +
                      "\",\"store\":\"" + ctx_->store_kind + "\",\"store_up\":" +
                      (up ? "true" : "false") + ",\"crash_loop\":[" + crash_loop + "]" +
                      cluster + "}\n";
        break;
      }
      case http_route::topics: return list_topics(res);
      case http_route::console: return serve_console(res, std::string_view(target.data(), target.size()));
      case http_route::api: {
        // A body the API reads is JSON, and says so: a page on another site may send a POST
        // with a text/plain body without asking first (a "simple" request), while one
        // labelled JSON needs a preflight, which the API, allowing no other origin, fails.
        if (!request.body().empty() && !header.json_body)
          return respond(res, http::status::unsupported_media_type,
                         "{\"error\":\"a request body must be JSON (Content-Type: application/json)\"}\n");
        auto reply = answer_later(res);
        if (!reply) return close();  // the broker is stopping
        return serve_api(sys_, ctx_, supervisor_, request.method(), std::string(target), request.body(),
                         std::move(reply));
      }
      case http_route::not_found:
        return respond(res, http::status::not_found, json_error("not found"));
    }
    write(res);
  }

  // The console's files, embedded in the binary; only names the build embedded are served.
  void serve_console(response_ptr res, std::string_view target) {
    target = target.substr(0, target.find('?'));
    const auto name = target == "/" ? std::string_view("index.html") : target.substr(9);
    if (auto asset = find_console_asset(name)) {
      res->result(http::status::ok);
      res->set(http::field::content_type, std::string(asset->content_type));
      res->set(http::field::cache_control, "no-cache");
      res->set("X-Content-Type-Options", "nosniff");
      // No page may frame the console (clickjacking: another site's page showing it unseen
      // over its own, so that clicks meant for that page land on the console's buttons);
      // X-Frame-Options for browsers that do not know frame-ancestors.
      res->set("Content-Security-Policy",
               "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
               "frame-ancestors 'none'");
      res->set("X-Frame-Options", "DENY");
      res->body() = std::string(asset->body);
      return write(res);
    }
    respond(res, http::status::not_found, json_error("not found"));
  }

  // Asked of the registry without blocking this Asio thread: a short-lived actor is sent the
  // request, asks, then posts the answer back to this connection (answer_later).
  void list_topics(response_ptr res) {
    auto reply = answer_later(std::move(res));
    if (!reply) return close();  // the broker is stopping
    auto asker = sys_.spawn(
        [](http_request_actor::pointer a, api_reply send_answer,
           supervisor_actor supervisor) -> http_request_actor::behavior_type {
          return {[=](http_atom, const http_request&) {
            auto unavailable = [=] {
              send_answer(static_cast<unsigned>(http::status::service_unavailable),
                          "{\"error\":\"registry unavailable\"}\n", {});
              a->quit();
            };
            a->request(supervisor, std::chrono::seconds(2), directory_atom::value)
                .then([=](actor_directory& dir) {
            if (!dir.registry) return unavailable();
            a->request(dir.registry, std::chrono::seconds(2), list_atom::value)
                .then(
                    [=](std::vector<storage::topic_info>& topics) {
                      std::ostringstream body;
                      body << "[";
                      for (std::size_t i = 0; i < topics.size(); ++i)
                        body << (i ? "," : "") << "{\"name\":" << json_string(topics[i].name)
                             << ",\"partitions\":" << topics[i].partitions << "}";
                      body << "]\n";
                      send_answer(static_cast<unsigned>(http::status::ok), body.str(), {});
                      a->quit();
                    },
                    [=](caf::error&) { unavailable(); });
                }, [=](caf::error&) { unavailable(); });
          }};
        },
        std::move(reply), supervisor_);
    caf::anon_send(asker, http_atom::value, http_request{"GET", "/topics", {}});
  }

  // How an actor answers this session's request in progress (from any thread, once): it
  // holds the session weakly and posts through the gate, never to a stopped context (see
  // http_sessions). Until the answer lands, the gate's `awaiting` keeps the session. Empty
  // when the broker is stopping: the caller closes the connection instead of asking.
  api_reply answer_later(response_ptr res) {
    {
      std::lock_guard guard{sessions_->mutex};
      if (sessions_->stopping) return {};
      sessions_->awaiting.insert_or_assign(this, shared_from_this());
    }
    auto owed = std::make_shared<owed_answer>(weak_from_this(), sessions_, std::move(res));
    return [owed](unsigned status, std::string body, api_headers headers) {
      owed->send(status, std::move(body), std::move(headers));
    };
  }

  // One request's answer, shared by every copy of its api_reply. An actor that ends without
  // answering (it failed, or was killed) would otherwise leave the session in `awaiting`, its
  // client waiting and its connection slot taken until the broker stops: the last copy going
  // unanswered answers 503 itself.
  class owed_answer {
   public:
    owed_answer(std::weak_ptr<http_session> session, std::shared_ptr<http_sessions> gate,
                response_ptr res)
        : session_(std::move(session)), gate_(std::move(gate)), res_(std::move(res)) {}
    owed_answer(const owed_answer&) = delete;
    owed_answer& operator=(const owed_answer&) = delete;
    ~owed_answer() {
      if (!answered_)
        send(static_cast<unsigned>(http::status::service_unavailable),
             json_error("the broker ended this request without an answer"), {});
    }

    void send(unsigned status, std::string body, api_headers headers) {
      if (answered_) return;
      answered_ = true;
      std::lock_guard held{gate_->mutex};
      if (gate_->stopping) return;  // the session is closed, or about to be
      asio::post(gate_->executor, [weak = session_, res = res_, status, body = std::move(body),
                                   headers = std::move(headers)]() mutable {
        if (auto session = weak.lock())
          session->on_answer(res, static_cast<http::status>(status), std::move(body),
                             std::move(headers));
      });
    }

   private:
    std::weak_ptr<http_session> session_;
    std::shared_ptr<http_sessions> gate_;
    response_ptr res_;
    bool answered_ = false;  ///< sequenced by the shared_ptr's count between copies
  };

  // On the Asio thread: an actor's answer has landed; the gate lets go of the session, which
  // its write holds from now on.
  void on_answer(const response_ptr& res, http::status status, std::string body,
                 api_headers headers) {
    std::shared_ptr<http_session> kept;  // let go of outside the lock
    {
      std::lock_guard guard{sessions_->mutex};
      if (auto it = sessions_->awaiting.find(this); it != sessions_->awaiting.end()) {
        kept = std::move(it->second);
        sessions_->awaiting.erase(it);
      }
    }
    if (!headers.link.empty()) res->set(http::field::link, headers.link);
    respond(res, status, std::move(body), std::move(headers.allow));
  }

  // On the Asio thread: a JSON answer (or an error) to the request in progress.
  void respond(const response_ptr& res, http::status status, std::string body,
               std::string allow = {}) {
    set_json(*res, status, std::move(body), std::move(allow));
    write(res);
  }

  static void set_json(http::response<http::string_body>& res, http::status status, std::string body,
                       std::string allow = {}) {
    res.result(status);
    if (!allow.empty()) res.set(http::field::allow, allow);
    res.set(http::field::content_type, "application/json");
    res.body() = std::move(body);
  }

  void write(response_ptr res) {
    res->prepare_payload();
    if (head_) {  // the headers GET would have, Content-Length included, and no body
      const auto length = res->body().size();
      res->body().clear();
      res->content_length(length);
    }
    // A client that does not read its answer is bounded by the same limit as a request. Set
    // afresh whatever it is: the deadline read() set is still running, and an answer that took
    // long (an actor's) would otherwise be cut off near it, or at once once it has passed.
    if (const auto limit = time_limit_ms())
      stream_.expires_after(std::chrono::milliseconds(limit));
    else
      stream_.expires_never();
    auto done = [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
      self->touch();
      if (ec || !res->keep_alive()) return self->close();
      self->read();
    };
    if (tls_)
      http::async_write(*tls_, *res, std::move(done));
    else
      http::async_write(stream_, *res, std::move(done));
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  bool head_ = false;  ///< the request being answered is a HEAD
  std::optional<http_request_parser> parser_;
  caf::actor_system& sys_;
  std::shared_ptr<broker_context> ctx_;
  supervisor_actor supervisor_;  ///< where its requests find the actors they ask
  std::shared_ptr<connection_table> table_;
  std::shared_ptr<const std::vector<std::string>> host_names_;  ///< see host_check.hpp
  std::shared_ptr<asio::ssl::context> tls_context_;  ///< kept alive for tls_; null: plaintext
  std::unique_ptr<asio::ssl::stream<beast::tcp_stream&>> tls_;
  std::shared_ptr<http_sessions> sessions_;  ///< the server's: see http_sessions
  std::atomic<bool> waiting_{false};
  std::atomic<std::int64_t> last_active_ns_{0};
};

}  // namespace

http_server::http_server(asio::io_context& io, caf::actor_system& sys,
                         std::shared_ptr<broker_context> ctx, supervisor_actor supervisor,
                         std::uint32_t max_connections, std::shared_ptr<tls_server_context> tls)
    : io_(io), sys_(sys), ctx_(std::move(ctx)), supervisor_(std::move(supervisor)), tls_(std::move(tls)),
      table_(std::make_shared<connection_table>(max_connections,
                                                ctx_->config.max_connections_per_address)),
      sessions_(std::make_shared<http_sessions>(io.get_executor())),
      host_names_(std::make_shared<const std::vector<std::string>>(http_host_names(ctx_->config))) {}

http_server::~http_server() {
  // The broker destroys the server before the context (after stop_connections, which let
  // go of every session; this is the backstop): the gate closes for good, and a session
  // still waiting for an answer ends now, while its socket's context exists.
  decltype(sessions_->awaiting) waiting;
  {
    std::lock_guard guard{sessions_->mutex};
    sessions_->stopping = true;
    waiting.swap(sessions_->awaiting);
  }
}

expected<std::uint16_t> http_server::start(const listener_config& address) {
  std::weak_ptr<http_server> weak = shared_from_this();
  acceptor_ = std::make_shared<accept_loop>(io_, "http", listener_kind::http, ctx_->metrics,
                                            [weak](tcp::socket s) {
                                              if (auto self = weak.lock()) self->on_client(std::move(s));
                                            });
  auto port = acceptor_->start(address);
  if (port) logging::http().info("http: console at /, JSON API at /api/, /metrics, /health, /topics");
  return port;
}

void http_server::stop() {
  if (acceptor_) acceptor_->stop();
}

void http_server::stop_connections() {
  {
    std::lock_guard guard{sessions_->mutex};
    sessions_->stopping = true;
  }
  // On the Asio thread, which owns the sockets, after anything it is doing now (a session
  // that hands a request on meanwhile finds the gate closed and closes instead).
  asio::post(io_, [gate = sessions_] {
    std::vector<std::shared_ptr<http_session>> open_sessions;
    decltype(gate->awaiting) waiting;
    {
      std::lock_guard guard{gate->mutex};
      for (const auto& entry : gate->live)
        if (auto session = entry.second.lock()) open_sessions.push_back(std::move(session));
      waiting.swap(gate->awaiting);
    }
    for (const auto& session : open_sessions) session->close();
    // `open_sessions` and `waiting` let go of the sessions here, outside the lock (a session's
    // destructor takes it): those that waited for an answer end now, the others once
    // their aborted operations have completed.
  });
}

std::uint32_t http_server::connections() const {
  std::lock_guard guard{sessions_->mutex};
  return static_cast<std::uint32_t>(sessions_->live.size());
}

void http_server::on_client(tcp::socket s) {
  beast::error_code ec;
  {
    // Accepted as the broker stops: nothing would close it.
    std::lock_guard guard{sessions_->mutex};
    if (sessions_->stopping) {
      s.close(ec);
      return;
    }
  }
  const auto remote = s.remote_endpoint(ec);
  if (ec) return;
  const auto verdict = table_->admit(remote.address());
  if (verdict == connection_table::verdict::listener_full ||
      verdict == connection_table::verdict::address_full) {
    ctx_->metrics.connection_limited(listener_kind::http,
                                     verdict == connection_table::verdict::listener_full
                                         ? connection_limit::listener_full
                                         : connection_limit::address_full);
    logging::http().debug("http: connection cap reached; refusing a client");
    s.close(ec);  // HTTP has no greeting to refuse with; the client sees the close
    return;
  }
  auto session = std::make_shared<http_session>(std::move(s), sys_, ctx_, supervisor_, table_,
                                                tls_ ? tls_->current() : nullptr, host_names_,
                                                sessions_);
  {
    std::lock_guard guard{sessions_->mutex};
    sessions_->live.emplace(session.get(), session);
  }
  table_->join(remote.address(), session);
  ctx_->metrics.listener_connection(listener_kind::http, +1);
  session->start();
}

}  // namespace portask
