#pragma once
/// One blocking connection to a RESP server, plaintext or TLS (rediss://), for redis_store.
/// Commands are written as RESP arrays of bulk strings here (large arguments sent in place
/// with sendmsg); hiredis 0.14 (Debian 12's) parses the replies. The socket and TLS
/// (OpenSSL) are ours, because that hiredis has no TLS. Every wait (connect, handshake,
/// write, read) is bounded by the timeout, so a dead or paused server yields an error,
/// never a hang.

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

class resp_connection {
 public:
  /// Connects (and runs the TLS handshake); on failure the reason in `error`.
  static std::unique_ptr<resp_connection> open(const std::string& host, std::uint16_t port,
                                               const resp_tls_options& tls,
                                               std::chrono::milliseconds timeout, std::string& error);
  ~resp_connection();
  resp_connection(const resp_connection&) = delete;
  resp_connection& operator=(const resp_connection&) = delete;

  /// Queues one command (sent by the next read_reply). On a plaintext connection, arguments
  /// of at least referenced_arg_bytes (stored frames) are sent from where they are instead
  /// of being copied: they must stay valid until the next read_reply returns.
  void append(int argc, const char** argv, const std::size_t* lens);
  static constexpr std::size_t referenced_arg_bytes = 4096;
  /// Sends what is queued, then reads one reply (a redisReply*, freed by the caller with
  /// freeReplyObject); null on a transport failure or timeout, with the reason in error().
  void* read_reply();
  int fd() const noexcept { return fd_; }
  const std::string& error() const noexcept { return error_; }

 private:
  resp_connection() = default;
  bool flush();
  int fd_ = -1;
  std::unique_ptr<protocol::security::tls_client> tls_;
  void* reader_ = nullptr;  ///< redisReader
  /// An argument sent from where it is, after out_'s first `at` bytes.
  struct referenced_arg {
    std::size_t at;
    const char* data;
    std::size_t size;
  };
  bool flush_gathered();
  std::string out_;
  std::vector<referenced_arg> referenced_;
  std::string error_;
  bool format_failed_ = false;
};

}  // namespace portask::storage
