#pragma once
// A stand-in for a broker on a loopback address, for the client library's tests: it accepts
// connections, each served on a thread of its own by the test's handler, which reads whole
// native frames and sends what it likes (with TLS when given a certificate). What a real
// broker does not do on cue (close a connection mid-pipeline, stop reading while it writes,
// send an answer nobody asked for, refuse a frame over its limit) is then easy to arrange.

#include <openssl/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "protocol/frame_decoder.hpp"
#include "protocol/message.hpp"
#include "protocol/native_messages.hpp"

namespace portask::test {

/// One accepted connection, as the handler sees it.
class stub_peer {
 public:
  stub_peer(int fd, SSL* ssl, std::size_t index) : fd_(fd), ssl_(ssl), index_(index) {}
  /// The connection's number in accept order (0: the first).
  std::size_t index() const noexcept { return index_; }
  /// The next whole frame, header included; nothing once the client closed, or after `wait`.
  std::optional<protocol::buffer> next_frame(std::chrono::milliseconds wait = std::chrono::seconds(20));
  /// Sends all of `bytes`, waiting as long as the client does not read.
  bool send(protocol::byte_view bytes);
  /// Ends the connection at once: the client sees it closed, nothing said.
  void close();
  /// Ends the connection with a reset, as a broker closing it with a request unread does:
  /// what was sent before still reaches the client, the reset right behind it.
  void reset();
  /// Small fixed socket buffers on the stub's side (no autotuning): a peer that stops
  /// reading, or that the stub stops reading, fills them soon.
  void limit_buffers(int bytes);
  /// Frames whose payload is over `max_payload` bytes stop the reading, as the broker's
  /// max_frame_bytes does (before their payload is read): next_frame then returns nothing,
  /// and framing_error() says why. Set before the first next_frame.
  void limit_frames(std::uint32_t max_payload) { decoder_ = protocol::frame_decoder{protocol::frame_limits{max_payload}}; }
  /// Why next_frame stopped reading the stream, if the bytes were at fault.
  std::error_code framing_error() const noexcept { return decoder_.error(); }

 private:
  int fd_;
  SSL* ssl_;
  std::size_t index_;
  protocol::frame_decoder decoder_{protocol::frame_limits{64u << 20}};
};

/// A certificate (with its chain) and key, PEM: the stub then speaks TLS.
struct stub_tls {
  std::string cert_file;
  std::string key_file;
  /// When set, a client certificate chaining to these CAs is required, as a broker's
  /// `client_auth: required` does: a client without one, or with another CA's, is refused
  /// with a TLS alert (with TLS 1.3 after the client's handshake is done) and never served.
  std::string client_ca_file{};
};

class stub_broker {
 public:
  using handler = std::function<void(stub_peer&)>;
  /// Listens on `address` (an IPv4 loopback address) at a port the system picks.
  explicit stub_broker(handler h, stub_tls tls = {}, const std::string& address = "127.0.0.1");
  ~stub_broker();
  stub_broker(const stub_broker&) = delete;
  stub_broker& operator=(const stub_broker&) = delete;
  std::uint16_t port() const noexcept { return port_; }

 private:
  void accept_loop();
  void serve(stub_peer& peer, SSL* ssl);

  handler handler_;
  SSL_CTX* ctx_ = nullptr;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::mutex mutex_;
  struct served {
    int fd = -1;
    SSL* ssl = nullptr;
    std::unique_ptr<stub_peer> peer;
    std::thread thread;
  };
  std::vector<std::unique_ptr<served>> peers_;
  std::thread acceptor_;  // last: it serves with the members above
};

// -- frames for handlers ---------------------------------------------------------------------

protocol::message_type type_of(const protocol::buffer& frame);
protocol::byte_view payload_of(const protocol::buffer& frame);
/// The request id a request frame starts its payload with.
std::uint32_t request_id_of(const protocol::buffer& frame);
/// A Response to `request` whose body `body` appends (none: an empty body).
protocol::buffer response_to(const protocol::buffer& request,
                             const std::function<void(protocol::buffer&)>& body = {});
protocol::buffer error_frame(std::uint32_t request_id, errc code, const std::string& message = "refused");
/// The Response to a Publish request: its partition, at `base_offset`.
protocol::buffer publish_answer(const protocol::buffer& request, std::int64_t base_offset);
/// A Deliver frame for `subscription_id` carrying `batch` stored at `base_offset`.
protocol::buffer deliver_frame(std::uint32_t subscription_id, std::int64_t base_offset,
                               const protocol::message_batch& batch, std::int64_t log_start = 0);
/// `n` messages whose values are `prefix` and their number.
protocol::message_batch batch_of(const std::string& prefix, int n = 1, std::size_t value_bytes = 0);

}  // namespace portask::test
