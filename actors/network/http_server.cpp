#include "actors/network/http_server.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <sstream>

namespace portask {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

std::string json_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

class http_session : public std::enable_shared_from_this<http_session> {
 public:
  http_session(tcp::socket s, caf::actor_system& sys, std::shared_ptr<broker_context> ctx)
      : stream_(std::move(s)), sys_(sys), ctx_(std::move(ctx)) {}

  void start() { read(); }

 private:
  void read() {
    request_ = {};
    stream_.expires_after(std::chrono::seconds(30));
    http::async_read(stream_, buffer_, request_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec) return self->close();
                       self->handle();
                     });
  }

  void handle() {
    auto res = std::make_shared<http::response<http::string_body>>();
    handle(res);
  }

  using response_ptr = std::shared_ptr<http::response<http::string_body>>;

  void handle(response_ptr res) {
    res->version(request_.version());
    res->keep_alive(request_.keep_alive());
    res->set(http::field::server, "portask");
    const auto target = std::string(request_.target());
    if (request_.method() != http::verb::get) {
      res->result(http::status::method_not_allowed);
      res->body() = "only GET\n";
    } else if (target == "/metrics") {
      res->result(http::status::ok);
      res->set(http::field::content_type, "text/plain; version=0.0.4");
      res->body() = ctx_->metrics.render_prometheus();
    } else if (target == "/health") {
      const bool up = ctx_->metrics.store_up();
      res->result(up ? http::status::ok : http::status::service_unavailable);
      res->set(http::field::content_type, "application/json");
      res->body() = std::string("{\"status\":\"") + (up ? "ok" : "degraded") +
                    "\",\"store\":\"" + ctx_->store_kind + "\",\"store_up\":" +
                    (up ? "true" : "false") + "}\n";
    } else if (target == "/topics") {
      // Asked of the registry without blocking this Asio thread: a short-lived actor asks,
      // then posts the answer back to this connection's executor.
      auto registry = ctx_->registry();
      sys_.spawn(
          [](caf::event_based_actor* a, std::shared_ptr<http_session> self, response_ptr response,
             topic_registry_actor reg) {
        a->request(reg, std::chrono::seconds(2), list_atom::value)
            .then(
                [=](std::vector<storage::topic_info>& topics) {
                  std::ostringstream body;
                  body << "[";
                  for (std::size_t i = 0; i < topics.size(); ++i)
                    body << (i ? "," : "") << "{\"name\":\"" << json_escape(topics[i].name)
                         << "\",\"partitions\":" << topics[i].partitions << "}";
                  body << "]\n";
                  self->finish(response, http::status::ok, body.str());
                  a->quit();
                },
                [=](caf::error&) {
                  self->finish(response, http::status::service_unavailable,
                               "{\"error\":\"registry unavailable\"}\n");
                  a->quit();
                });
          },
          shared_from_this(), res, registry);
      return;
    } else {
      res->result(http::status::not_found);
      res->body() = "not found\n";
    }
    write(res);
  }

  // Called from an actor: hops back onto the connection's executor before writing.
  void finish(response_ptr res, http::status status, std::string body) {
    asio::post(stream_.get_executor(), [self = shared_from_this(), res, status,
                                        body = std::move(body)]() mutable {
      res->result(status);
      res->set(http::field::content_type, "application/json");
      res->body() = std::move(body);
      self->write(res);
    });
  }

  void write(response_ptr res) {
    res->prepare_payload();
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
                        if (ec || !res->keep_alive()) return self->close();
                        self->read();
                      });
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  caf::actor_system& sys_;
  std::shared_ptr<broker_context> ctx_;
};

}  // namespace

http_server::http_server(asio::io_context& io, caf::actor_system& sys,
                         std::shared_ptr<broker_context> ctx)
    : io_(io), sys_(sys), ctx_(std::move(ctx)), acceptor_(io) {}

expected<std::uint16_t> http_server::start(const listener_config& address) {
  beast::error_code ec;
  auto addr = asio::ip::make_address(address.host, ec);
  if (ec) return errc::invalid_request;
  tcp::endpoint ep{addr, address.port};
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    spdlog::error("http: cannot listen on {}:{}: {}", address.host, address.port, ec.message());
    return errc::internal;
  }
  const auto port = acceptor_.local_endpoint().port();
  spdlog::info("http listener on {}:{} (/metrics, /health, /topics)", address.host, port);
  accept();
  return port;
}

void http_server::stop() {
  asio::post(io_, [self = shared_from_this()] {
    beast::error_code ec;
    self->acceptor_.close(ec);
  });
}

void http_server::accept() {
  acceptor_.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket s) {
    if (ec) {
      if (ec != asio::error::operation_aborted) self->accept();
      return;
    }
    std::make_shared<http_session>(std::move(s), self->sys_, self->ctx_)->start();
    self->accept();
  });
}

}  // namespace portask
