#pragma once
/// One TCP connection on the Asio side. It only moves bytes: reads into its framer, sends
/// each whole frame to its connection actor (anon_send), and writes what the actor posts
/// back, in order. All socket work runs on the session's strand; the actor never touches
/// the socket, and the session never blocks a CAF thread.
///
/// Backpressure: every frame handed to the actor counts as in flight until the response
/// that answers it has been written to the socket; above the limit the session stops
/// reading, so a client that pipelines faster than the broker (or than it reads its own
/// responses) is slowed down instead of growing broker memory.

#include <boost/asio.hpp>
#include <caf/actor.hpp>
#include <deque>
#include <functional>
#include <memory>

#include "actors/network/stream_framer.hpp"

namespace portask {

class tcp_session : public std::enable_shared_from_this<tcp_session> {
 public:
  using tcp = boost::asio::ip::tcp;

  tcp_session(tcp::socket socket, std::unique_ptr<stream_framer> framer,
              std::uint64_t max_inflight_bytes, std::function<void()> on_destroy);
  ~tcp_session();

  /// Starts reading; frames go to `actor` as (frame_atom, buffer); end of stream or a socket
  /// error as (closed_atom); a framing error as (closed_atom, errc) after which reading
  /// stops (the actor answers and calls close_after_writes).
  void start(caf::actor actor);

  // -- called from any thread (posted to the strand) -----------------------------------------
  /// Queues bytes; once written, `release` bytes of in-flight requests are released.
  void send(protocol::buffer bytes, std::uint64_t release = 0);
  /// Releases in-flight bytes without writing (acks=0 requests).
  void release(std::uint64_t bytes);
  /// Closes once everything queued is written.
  void close_after_writes();
  /// Closes now.
  void close();

  const std::string& peer() const noexcept { return peer_; }

 private:
  void read();
  void on_read(const boost::system::error_code& ec, std::size_t n);
  void write();
  void do_release(std::uint64_t bytes);
  void shutdown();

  tcp::socket socket_;
  boost::asio::strand<tcp::socket::executor_type> strand_;
  std::unique_ptr<stream_framer> framer_;
  caf::actor actor_;
  std::string peer_;
  std::uint64_t max_inflight_;
  std::uint64_t inflight_ = 0;
  bool reading_ = false;
  bool read_paused_ = false;
  bool read_stopped_ = false;
  bool writing_ = false;
  bool close_when_flushed_ = false;
  bool closed_ = false;
  struct pending_write {
    protocol::buffer bytes;
    std::uint64_t release;
  };
  std::deque<pending_write> writes_;
  std::vector<pending_write> in_write_;
  std::function<void()> on_destroy_;
};

}  // namespace portask
