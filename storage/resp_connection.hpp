#pragma once
/// One blocking connection to a RESP server, plaintext or TLS (rediss://), for redis_store.
/// Commands are written as RESP arrays of bulk strings here (large arguments sent in place
/// with sendmsg); hiredis 0.14 (Debian 12's) parses the replies. The socket and TLS
/// (OpenSSL) are ours, because that hiredis has no TLS. The socket is non-blocking and every
/// wait is a poll bounded by a deadline: connecting and the TLS handshake each by the
/// timeout, and each read_reply (its send and its whole reply) by the timeout from its start
/// or from the last time another progress_bytes went either way, so a dead, paused or
/// trickling server yields an error, never a hang, while a large transfer that keeps moving
/// completes. A reply is also bounded in size (max_reply_bytes), so a misbehaving server
/// cannot make the broker allocate without bound.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "protocol/expected.hpp"
#include "protocol/security/tls_client.hpp"

namespace portask::storage {

/// TLS to the store (rediss://): the shared client settings (CA, client certificate, the name
/// to check; protocol/security/tls_client.hpp), and whether to use TLS at all.
struct resp_tls_options : protocol::security::tls_client_settings {
  bool enabled = false;
};

/// hiredis's reader with the cap on one reply (resp_connection.cpp).
struct resp_reader;

class resp_connection {
 public:
  /// The most one reply may hold by default, 1,280 MiB: a stream entry's frame can be at most
  /// 512 MiB (Redis's default proto-max-bulk-len refuses a larger XADD argument), the largest
  /// replies redis_store asks for are two entries (a read's first page) or about 1 MiB of
  /// frames and one more (its later pages, read_page_bytes), every other is far smaller, and
  /// hiredis's objects (a few dozen bytes per element) count too.
  static constexpr std::size_t default_max_reply_bytes = std::size_t{1280} << 20;

  /// Each time this many more bytes have been sent or received within one read_reply, its
  /// deadline becomes the timeout from then (if later): a transfer must keep this pace to
  /// outlast the timeout, which a server trickling a few bytes at a time does not.
  static constexpr std::size_t progress_bytes = std::size_t{1} << 20;

  /// Connects (and runs the TLS handshake); on failure the reason in `error`. `timeout` bounds
  /// the connect, the handshake and each read_reply; `max_reply_bytes` what one reply may
  /// hold (its bytes received and not yet parsed, and the objects hiredis made of the rest;
  /// a string's bytes sit in both for a moment, so the memory held can reach about twice it).
  static std::unique_ptr<resp_connection> open(const std::string& host, std::uint16_t port,
                                               const resp_tls_options& tls,
                                               std::chrono::milliseconds timeout, std::string& error,
                                               std::size_t max_reply_bytes = default_max_reply_bytes);
  ~resp_connection();
  resp_connection(const resp_connection&) = delete;
  resp_connection& operator=(const resp_connection&) = delete;

  /// Queues one command (sent by the next read_reply). On a plaintext connection, arguments
  /// of at least referenced_arg_bytes (stored frames) are sent from where they are instead
  /// of being copied: they must stay valid until the next read_reply returns.
  void append(int argc, const char** argv, const std::size_t* lens);
  static constexpr std::size_t referenced_arg_bytes = 4096;
  /// Sends what is queued, then reads one reply (a redisReply*, freed by the caller with
  /// freeReplyObject), all within the timeout from the call's start or its last
  /// progress_bytes. Null, with the reason in error(), on a transport failure, past that
  /// deadline ("... timed out after N ms"), when the reply would hold more than
  /// max_reply_bytes, or on a reply that breaks the protocol (an array of a negative count,
  /// say). A null leaves the stream out of step (a reply partly read, commands partly sent):
  /// every later call fails the same way, and the owner drops the connection.
  void* read_reply();
  /// Between calls (every reply read, nothing queued): whether the connection can take the
  /// next command. False, with the reason in error(), when the server has closed or reset it
  /// meanwhile (a restart, CLIENT KILL, its idle timeout) or sent bytes no command asked
  /// for: nothing was sent on it since its last reply, so its owner can open another and
  /// send there without doubting whether anything ran. One non-blocking peek at the socket
  /// (over TLS also at OpenSSL's records, only when bytes are there).
  bool still_open();
  int fd() const noexcept { return fd_; }
  const std::string& error() const noexcept { return error_; }

 private:
  using clock = std::chrono::steady_clock;
  /// When a call's waits end, and the bytes moved since it was last put off.
  struct deadline {
    clock::time_point at;
    std::size_t moved = 0;
  };
  resp_connection() = default;
  /// Counts `bytes` sent or received; each progress_bytes puts the deadline off to the
  /// timeout from now.
  void progressed(deadline& d, std::size_t bytes) const;
  /// Polls until the socket can be written (for_write) or read; false past the deadline
  /// ("<what> timed out after N ms") or when poll fails, with error_ set.
  bool wait(bool for_write, const deadline& d, const char* what);
  /// Sets error_ to "<what> timed out after N ms"; false.
  bool timed_out(const char* what);
  bool handshake(const deadline& d);
  /// read_reply's work, within `d`.
  void* exchange(deadline& d);
  bool flush(deadline& d);
  bool flush_gathered(deadline& d);
  int fd_ = -1;
  std::chrono::milliseconds timeout_{0};
  std::unique_ptr<protocol::security::tls_client> tls_;
  std::unique_ptr<resp_reader> reader_;
  /// An argument sent from where it is, after out_'s first `at` bytes.
  struct referenced_arg {
    std::size_t at;
    const char* data;
    std::size_t size;
  };
  std::string out_;
  std::vector<referenced_arg> referenced_;
  std::string error_;
  bool format_failed_ = false;
  bool broken_ = false;  ///< a read_reply failed: the stream is out of step
};

}  // namespace portask::storage
