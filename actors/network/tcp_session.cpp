#include "actors/network/tcp_session.hpp"

#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include "actors/interfaces.hpp"

namespace portask {

namespace asio = boost::asio;
constexpr std::size_t read_chunk = 64 * 1024;

tcp_session::tcp_session(tcp::socket socket, std::unique_ptr<stream_framer> framer,
                         std::uint64_t max_inflight_bytes, std::function<void()> on_destroy)
    : socket_(std::move(socket)),
      strand_(asio::make_strand(socket_.get_executor())),
      framer_(std::move(framer)),
      max_inflight_(max_inflight_bytes),
      on_destroy_(std::move(on_destroy)) {
  boost::system::error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  peer_ = ec ? "unknown" : ep.address().to_string() + ":" + std::to_string(ep.port());
  socket_.set_option(tcp::no_delay(true), ec);
}

tcp_session::~tcp_session() {
  if (on_destroy_) on_destroy_();
}

void tcp_session::start(caf::actor actor) {
  asio::post(strand_, [self = shared_from_this(), actor = std::move(actor)]() mutable {
    self->actor_ = std::move(actor);
    self->read();
  });
}

void tcp_session::read() {
  if (reading_ || read_stopped_ || closed_) return;
  if (inflight_ > max_inflight_) {
    read_paused_ = true;
    return;
  }
  reading_ = true;
  auto space = framer_->prepare(read_chunk);
  socket_.async_read_some(
      asio::buffer(space.data(), space.size()),
      asio::bind_executor(strand_, [self = shared_from_this()](auto ec, std::size_t n) {
        self->on_read(ec, n);
      }));
}

void tcp_session::on_read(const boost::system::error_code& ec, std::size_t n) {
  reading_ = false;
  if (ec) {
    if (ec != asio::error::eof && ec != asio::error::operation_aborted &&
        ec != asio::error::connection_reset)
      spdlog::debug("{}: read error: {}", peer_, ec.message());
    read_stopped_ = true;
    caf::anon_send(actor_, closed_atom::value);
    return;
  }
  framer_->commit(n);
  for (;;) {
    auto f = framer_->next();
    if (!f) {
      spdlog::warn("{}: closing after framing error: {}", peer_, f.error().message());
      read_stopped_ = true;
      caf::anon_send(actor_, closed_atom::value, static_cast<errc>(f.error().value()));
      return;
    }
    if (!*f) break;
    const auto bytes = **f;
    inflight_ += bytes.size();
    caf::anon_send(actor_, frame_atom::value, protocol::buffer(bytes.begin(), bytes.end()));
  }
  read();
}

void tcp_session::send(protocol::buffer bytes, std::uint64_t release) {
  asio::post(strand_, [self = shared_from_this(), b = std::move(bytes), release]() mutable {
    if (self->closed_) return;
    self->writes_.push_back({std::move(b), release});
    self->write();
  });
}

void tcp_session::release(std::uint64_t bytes) {
  asio::post(strand_, [self = shared_from_this(), bytes] { self->do_release(bytes); });
}

void tcp_session::do_release(std::uint64_t bytes) {
  inflight_ = bytes > inflight_ ? 0 : inflight_ - bytes;
  if (read_paused_ && inflight_ <= max_inflight_ / 2) {
    read_paused_ = false;
    read();
  }
}

void tcp_session::write() {
  if (writing_ || closed_) return;
  if (writes_.empty()) {
    if (close_when_flushed_) shutdown();
    return;
  }
  // Gather everything queued into one write.
  writing_ = true;
  in_write_.clear();
  std::vector<asio::const_buffer> buffers;
  while (!writes_.empty() && buffers.size() < 64) {
    in_write_.push_back(std::move(writes_.front()));
    writes_.pop_front();
  }
  for (const auto& w : in_write_) buffers.emplace_back(w.bytes.data(), w.bytes.size());
  asio::async_write(socket_, buffers,
                    asio::bind_executor(strand_, [self = shared_from_this()](auto ec, std::size_t) {
                      self->writing_ = false;
                      if (ec) {
                        spdlog::debug("{}: write error: {}", self->peer_, ec.message());
                        self->shutdown();
                        return;
                      }
                      std::uint64_t released = 0;
                      for (const auto& w : self->in_write_) released += w.release;
                      self->in_write_.clear();
                      if (released) self->do_release(released);
                      self->write();
                    }));
}

void tcp_session::close_after_writes() {
  asio::post(strand_, [self = shared_from_this()] {
    self->close_when_flushed_ = true;
    if (!self->writing_) self->write();
  });
}

void tcp_session::close() {
  asio::post(strand_, [self = shared_from_this()] { self->shutdown(); });
}

void tcp_session::shutdown() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  writes_.clear();
  if (!read_stopped_) {
    read_stopped_ = true;
    // A pending read completes with operation_aborted and reports closed; if none is
    // pending, report here.
    if (!reading_) caf::anon_send(actor_, closed_atom::value);
  }
}

}  // namespace portask
