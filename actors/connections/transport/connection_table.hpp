#pragma once
/// The connections of one listener, for its caps: at most `max_total` connections, and at
/// most `max_per_address` from one client address. A new client over a cap first evicts the
/// least recently active idle connection in that cap's scope (all of the listener's, or the
/// address's own), so idle clients cannot lock busy ones out; only when none is idle is the
/// new client refused. Shared by every listener (native, Kafka, HTTP).
///
/// Thread-safe (a mutex): sessions leave from their strands, clients arrive on the
/// acceptor's executor. Every operation is O(connections of the scope) only on the eviction
/// path; admitting and leaving are O(1) amortised.

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace portask {

/// What the table needs of a connection it tracks.
class limited_connection {
 public:
  virtual ~limited_connection() = default;
  /// True when nothing is in flight or queued and no partial request is buffered.
  virtual bool idle() const noexcept = 0;
  /// The last time bytes moved either way.
  virtual std::chrono::steady_clock::time_point last_active() const noexcept = 0;
  /// Closes the connection for a newer client (asynchronously, from any thread).
  virtual void evict() = 0;
};

class connection_table {
 public:
  enum class verdict { admitted, admitted_after_eviction, listener_full, address_full };

  connection_table(std::uint32_t max_total, std::uint32_t max_per_address)
      : max_total_(max_total), max_per_address_(max_per_address) {}

  /// Whether a client from `address` may connect now; may evict an idle connection for it.
  verdict admit(const boost::asio::ip::address& address);
  /// Tracks an admitted connection until leave() (the caller keeps it alive).
  void join(const boost::asio::ip::address& address, const std::shared_ptr<limited_connection>& c);
  /// Stops tracking (idempotent; a no-op for an evicted connection).
  void leave(const limited_connection* c);
  std::size_t size() const;

 private:
  struct entry {
    std::weak_ptr<limited_connection> connection;
    const limited_connection* key;
    boost::asio::ip::address address;
  };
  /// Evicts the least recently active idle entry among `scope`; false if none is idle. The
  /// connections it looked at are added to `looked_at` (kept alive past the lock).
  bool evict_one(const std::vector<const limited_connection*>& scope,
                 std::vector<std::shared_ptr<limited_connection>>& looked_at);
  void forget(const limited_connection* c);

  std::uint32_t max_total_;
  std::uint32_t max_per_address_;  ///< 0: no cap of its own
  mutable std::mutex mutex_;
  std::unordered_map<const limited_connection*, entry> entries_;
  std::unordered_map<std::string, std::vector<const limited_connection*>> by_address_;
};

}  // namespace portask
