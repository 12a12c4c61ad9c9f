#pragma once
/// The Portask C++ client library: a blocking connection speaking the native protocol
/// (docs/protocol.md). One connection is used by one thread. Requests can be pipelined:
/// send_* returns at once with a request id (a publish may be held back to leave with the
/// next ones: flush()), and responses are read back in order; the simple calls (publish,
/// fetch, ...) send and wait. Deliver frames of subscriptions that
/// arrive while waiting for a response, or while a send waits for room in the socket (a
/// broker may stop reading until we read; up to 4 × max_frame_bytes are read then), are kept
/// for next_delivery(). A request over the broker's max_frame_bytes ends the connection: the
/// broker says why (an Error of request 0) and closes, and the call returns that failure
/// (frame_too_large, not retriable) rather than a lost connection.
///
/// Depends only on portask::protocol, POSIX sockets and OpenSSL (for TLS listeners).

#include <chrono>
#include <system_error>
#include <variant>
#include <deque>
#include <set>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/tls_alert.hpp"
#include "protocol/codec_manager.hpp"
#include "protocol/frame_decoder.hpp"
#include "protocol/group_assignment.hpp"
#include "protocol/native_messages.hpp"
#include "protocol/security/tls_client.hpp"

namespace portask::client {

/// The broker's default max_frame_bytes (actors/runtime/broker_config.hpp, 16 MiB) plus
/// 1 MiB of room for the headers of the answers that carry a batch of that size.
inline constexpr std::uint32_t default_max_frame_bytes = protocol::default_max_frame_payload + (1u << 20);

struct options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 7070;
  protocol::encoding encoding{};  ///< how published batches are encoded on the wire
  /// How long a call waits for its response, in all: frames pushed meanwhile (deliveries,
  /// assignments, other requests' answers) do not extend it. Also bounds opening a
  /// connection, in all (each address a name resolves to gets its share of what is left,
  /// the handshake and each authentication step the rest), and a send that makes no
  /// progress (the broker reads nothing; what it sends meanwhile is read, up to 4 ×
  /// max_frame_bytes not yet taken: past that the broker is left to wait for us).
  std::chrono::milliseconds timeout{30000};
  /// The largest frame payload accepted from the broker (a longer one breaks the connection:
  /// the call fails with frame_too_large, not retriable, naming the frame's size and this
  /// limit; cluster_client does not retry it) and the bound on a batch decompressed here. A
  /// Fetch answer or Deliver frame carries a stored batch plus its own header, so it can be
  /// a little longer than the largest frame the broker accepts: set this above the broker's
  /// max_frame_bytes.
  std::uint32_t max_frame_bytes = default_max_frame_bytes;
  /// When set, open() authenticates as this user (docs/protocol.md, Authenticate) with
  /// `mechanism`: SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN.
  std::string user;
  std::string password;
  std::string mechanism = "SCRAM-SHA-512";
  /// TLS, for a listener whose security protocol is SSL or SASL_SSL. The broker's
  /// certificate must chain to `tls_ca_file` (empty: the system's CAs) and name
  /// `tls_server_name` (empty: `host`; an IP address is matched as one). A cluster_client
  /// checks every node's certificate against `tls_server_name` when it is set (all nodes
  /// share one certificate name), else against the host each node advertises. A broker
  /// that refuses this client's certificate (expired, of a CA it does not trust, none where
  /// one is required) or the terms it offers (handshake_failure, protocol_version,
  /// insufficient_security) sends a TLS alert, which fails the call that meets it (opening;
  /// with TLS 1.3 a certificate's refusal comes at the first read after the handshake) as
  /// authentication_failed, not retriable, naming the alert ("tlsv13 alert certificate
  /// required"). Other alerts, in the handshake or after it (bad_record_mac, internal_error,
  /// decode_error, ...: client/tls_alert.hpp), are a connection lost (storage_unavailable,
  /// network connection_reset), retriable, the alert named.
  bool tls = false;
  std::string tls_ca_file;
  std::string tls_cert_file;  ///< a client certificate (PEM), for listeners that ask for one
  std::string tls_key_file;
  std::string tls_server_name;
};

/// An error answered by the broker (code, text, retriable) or a local failure.
struct failure {
  errc code = errc::internal;
  std::string message;
  bool retriable = false;
  /// From next_delivery: the subscription the broker ended (0: none).
  std::uint32_t subscription_id = 0;
  /// Set when the connection failed rather than the broker answering, which no code of the
  /// wire protocol says: the system's reason (std::errc::connection_refused, timed_out,
  /// connection_reset, ...; resolver_category() for a host name that did not resolve).
  /// `code` is then timeout when time ran out, invalid_request for a host name that does
  /// not exist, frame_too_large (std::errc::message_size) for a frame from the broker over
  /// options::max_frame_bytes, else storage_unavailable; a temporary failure is retriable.
  std::error_code network{};
};

/// Whether `f` is a frame from the broker over this client's options::max_frame_bytes (a
/// delivery on the same connection, or the answer itself), which broke the connection: no
/// answer of the broker's. (Its refusal of a request over its own limit, also
/// frame_too_large, has no network reason.)
inline bool over_client_frame_limit(const failure& f) noexcept {
  return f.code == errc::frame_too_large && f.network == std::errc::message_size;
}

/// `f` (over_client_frame_limit), as the failure of a `what` ("publish", "request") that
/// changes something and whose answer was awaited when the frame broke the connection: no
/// refusal of it by the broker, which may have carried it out (`maybe`, e.g. "it may have
/// been stored"), so its outcome is unknown, and the message says so before `f`'s own.
failure outcome_unknown(failure f, const std::string& what, const std::string& maybe = {});

/// getaddrinfo's failures (EAI_AGAIN, EAI_NONAME, ...), as failure::network carries them.
const std::error_category& resolver_category() noexcept;

template <class T>
using result = std::variant<T, failure>;

template <class T>
bool ok(const result<T>& r) noexcept {
  return r.index() == 0;
}
template <class T>
const failure& error_of(const result<T>& r) {
  return std::get<1>(r);
}

/// Messages read by fetch or delivered to a subscription, offsets filled in.
struct fetched {
  std::int32_t partition = 0;
  std::int64_t high_watermark = 0;
  std::int64_t log_start = 0;
  std::vector<protocol::message> messages;
  std::int64_t next_offset = 0;  ///< where to continue reading
};

struct delivery {
  std::uint32_t subscription_id = 0;
  fetched data;
  std::size_t wire_bytes = 0;  ///< the Deliver frame's size (what the credit is charged)
};

class connection {
 public:
  static result<connection> open(const options& o);
  connection(connection&&) noexcept;
  connection& operator=(connection&&) noexcept;
  ~connection();

  // -- synchronous calls ---------------------------------------------------------------------
  /// Waits for its own answer: publishes pipelined before it keep theirs for receive_publish.
  /// With a producer claim as send_publish's.
  result<protocol::native::publish_response> publish(const std::string& topic,
                                                     std::int32_t partition,
                                                     const protocol::message_batch& batch,
                                                     const protocol::native::publish_producer& producer = {});
  /// Reads from `offset` (or -1 latest / -2 earliest); messages before `offset` in the first
  /// batch, or before the answer's log start (DeleteRecords may have moved it into a stored
  /// batch), are skipped. Waits up to max_wait_ms for data.
  result<fetched> fetch(const std::string& topic, std::int32_t partition, std::int64_t offset,
                        std::uint32_t max_bytes = 1 << 20, std::uint32_t max_wait_ms = 0);
  /// One SASL exchange on this connection (open() runs it when options::user is set), within
  /// the request timeout in all; a SCRAM server's final signature is checked too. After a
  /// failure the broker closes the connection.
  result<bool> authenticate(const std::string& mechanism, const std::string& user, const std::string& password);
  result<bool> create_topic(const std::string& topic, std::int32_t partitions,
                            std::vector<protocol::native::config_entry> configs = {});
  result<bool> delete_topic(const std::string& topic);
  result<std::vector<protocol::native::topic_summary>> list_topics();
  result<protocol::native::topic_detail> describe_topic(const std::string& topic);
  /// Sets each config (an empty value removes the topic's override); others stay.
  result<bool> alter_topic_config(const std::string& topic,
                                  std::vector<protocol::native::config_entry> configs);
  /// Grows `topic` to `total` partitions.
  result<bool> add_partitions(const std::string& topic, std::int32_t total);
  /// The broker's topics; in a cluster also the live nodes, every listed partition's leader
  /// and the coordinator of each of `groups` (cluster_client follows them). Asks for the
  /// cluster fields, which a broker sends only to clients that ask (older ones reject them).
  result<protocol::native::metadata_response> metadata(std::vector<std::string> groups = {});

  // -- consumer groups, as an administrator sees them (both protocols' groups) --------------
  result<std::vector<protocol::native::group_summary>> list_groups();
  /// State, members with their partitions, and every committed offset; unknown_group when
  /// the group has neither members nor offsets.
  result<protocol::native::group_detail> describe_group(const std::string& group);
  /// Deletes a group's committed offsets; group_not_empty while it has members.
  result<bool> delete_group(const std::string& group);

  // -- users and ACLs (docs/security.md): DESCRIBE on the cluster to list, ALTER to change --
  result<std::vector<protocol::native::user_credential_info>> list_users();
  /// Sets `user`'s credential for `mechanism` (SCRAM-SHA-512 or -256): salted here with a
  /// fresh random salt; only the salted password is sent.
  result<bool> upsert_user(const std::string& user, const std::string& password,
                           const std::string& mechanism = "SCRAM-SHA-512", std::int32_t iterations = 4096);
  result<bool> delete_user(const std::string& user, const std::string& mechanism);
  /// The bindings any filter matches (no filter: all). Kafka's codes (protocol/security/acl.hpp).
  result<std::vector<protocol::native::acl_entry>> list_acls(std::vector<protocol::native::acl_entry> filters = {});
  result<bool> create_acls(std::vector<protocol::native::acl_entry> bindings);
  /// Deletes what the filters match; returns the bindings deleted.
  result<std::vector<protocol::native::acl_entry>> delete_acls(std::vector<protocol::native::acl_entry> filters);

  // -- consumer groups (the broker assigns partitions and pushes every change) -------------
  /// Joins `group` subscribed to `topics`; returns the membership id. Assignments follow as
  /// pushes: read them with next_assignment().
  result<std::uint32_t> join_group(const std::string& group, const std::vector<std::string>& topics,
                                   protocol::assignment_strategy strategy =
                                       protocol::assignment_strategy::range,
                                   std::uint32_t session_timeout_ms = 10000);
  result<bool> leave_group(std::uint32_t membership_id);
  /// The next pushed assignment, waiting up to `wait`; nullopt when none came.
  result<std::optional<protocol::native::group_assignment>> next_assignment(
      std::chrono::milliseconds wait);

  /// Commits `offset` for group `consumer`. Members of a native group pass the member id
  /// and generation of their latest assignment (a stale generation is refused).
  result<bool> commit(const std::string& consumer, const std::string& topic,
                      std::int32_t partition, std::int64_t offset, const std::string& metadata = {},
                      const std::string& member_id = {}, std::int32_t generation = -1);
  result<protocol::native::offset_fetch_response> committed(const std::string& consumer,
                                                            const std::string& topic,
                                                            std::int32_t partition);
  /// Advances the partition's log start offset to `offset` (-1: the high watermark); the
  /// records below it are deleted. Returns the bounds after.
  result<protocol::native::list_offsets_response> delete_records(const std::string& topic,
                                                                 std::int32_t partition,
                                                                 std::int64_t offset);
  result<protocol::native::list_offsets_response> list_offsets(const std::string& topic,
                                                               std::int32_t partition);
  /// The bounds, and in at_time the first offset stamped at or after `timestamp_ms` (offset
  /// -1 when none is).
  result<protocol::native::list_offsets_response> offset_for_time(const std::string& topic,
                                                                  std::int32_t partition,
                                                                  std::int64_t timestamp_ms);
  result<std::int64_t> heartbeat();
  /// A new idempotent producer id (id -1), or the next epoch of `id`.
  result<protocol::native::init_producer_response> init_producer(std::int64_t id = -1,
                                                                 std::int16_t epoch = -1);

  // -- subscriptions -------------------------------------------------------------------------
  result<std::uint32_t> subscribe(const std::string& topic, std::int32_t partition,
                                  std::int64_t offset, std::uint32_t credit_bytes);
  result<bool> grant_credit(std::uint32_t subscription_id, std::uint32_t bytes);
  result<bool> unsubscribe(std::uint32_t subscription_id);
  /// The next pushed delivery, waiting up to `wait`; nullopt on timeout. Records below the
  /// log start the Deliver frame names are skipped, as fetch skips them. A subscription the
  /// broker ended is reported as a failure naming it (failure::subscription_id), after the
  /// deliveries that arrived before its end.
  result<std::optional<delivery>> next_delivery(std::chrono::milliseconds wait);
  /// Whether subscription `subscription_id` is live here as far as has been read: false once
  /// its end (or its Unsubscribe) was.
  bool subscribed(std::uint32_t subscription_id) const;

  // -- pipelining ----------------------------------------------------------------------------
  /// Sends a publish without waiting; returns its request id. acks=false: no response comes.
  /// With a producer claim the broker stores the batch once, in sequence order
  /// (docs/protocol.md, "Idempotent publishing"; idempotent_producer does the bookkeeping).
  result<std::uint32_t> send_publish(const std::string& topic, std::int32_t partition,
                                     const protocol::message_batch& batch, bool acks = true,
                                     const protocol::native::publish_producer& producer = {});
  /// Reads the next response (in request order) for a pipelined publish.
  result<protocol::native::publish_response> receive_publish();
  /// The response to the pipelined publish `request_id` (send_publish's), whichever are
  /// awaited before it (they keep theirs). After the connection failed, an answer that had
  /// already arrived is still returned (a publish resent though it was stored would be
  /// stored twice), however much arrived before it (once a call or write timed out, only
  /// one among what was read: the broker, still up, could push without end); otherwise the
  /// broker's refusal of a frame over its max_frame_bytes when it sent one (an Error of
  /// request 0, frame_too_large, not retriable), else a retriable failure says the
  /// connection was lost.
  result<protocol::native::publish_response> receive_publish(std::uint32_t request_id);
  /// A publish sent without acks that the broker refused: it answers those with an Error
  /// only, which is kept here (in arrival order, the latest 65536) rather than taken for
  /// another call's answer; or why the connection failed meanwhile. What has arrived is read
  /// first, without waiting (a publish without acks does the same), so that the broker's
  /// Errors never pile up unread. Nothing when none has arrived yet.
  std::optional<failure> next_publish_error();
  /// Sends the pipelined publishes still held back (see below); false if the write failed.
  /// A publish that expects a response (acks) is held back until the connection next
  /// waits on its socket, until 64 KiB of requests are held, until another request is sent
  /// (behind them), or until this is called, so that requests pipelined back to back leave
  /// in one write rather than one system call each; a publish without acks is sent at once.
  /// A caller that paces its publishes, or waits on native_handle() itself, calls flush(),
  /// then has_pending(): a flush that waits for room reads what arrives meanwhile.
  /// Publishes still held when the connection closes (destroyed or assigned to) get one
  /// attempt, as far as the socket takes them without waiting (over TLS, a flush): to be
  /// sure they were sent and stored, call flush() and read their answers before closing.
  bool flush();

  /// Sends raw bytes (tests use this to send hostile input).
  bool send_raw(protocol::byte_view bytes);
  /// Reads the next frame of any type (tests).
  result<protocol::buffer> receive_frame(std::chrono::milliseconds wait);

  /// False once the connection failed or a response did not come in time: what it carries
  /// is unknown from then on, and a new connection is needed. Reads on it fail at once
  /// (receive_publish still returns an answer that had arrived).
  bool usable() const noexcept { return fd_ >= 0 && !broken_; }
  /// The socket, to wait on several connections at once (poll for reading; flush() first,
  /// or held publishes never leave). Check has_pending() after flush() and before waiting:
  /// frames read while a flush waited for room, or decrypted bytes a TLS connection holds,
  /// do not show on the socket (a caller that waited would sleep with them here).
  int native_handle() const noexcept { return fd_; }
  /// Whether frames (deliveries, assignments, a membership's end, answers to pipelined
  /// publishes that another call read), bytes not yet looked at, or decrypted bytes are
  /// already here to be read without waiting (a partial frame already looked at is not: the
  /// rest shows on the socket).
  bool has_pending() const;
  /// has_pending() for a reader of deliveries only (cluster_client, waiting on several
  /// connections): deliveries, subscriptions' ends, or bytes not yet looked at (which may hold
  /// them). What is kept for other readers (answers, assignments) does not count: it would
  /// keep such a reader from ever waiting.
  bool has_pending_deliveries() const;

 private:
  connection(int fd, options o);
  /// Never 0: an Error of request id 0 is the broker's about the connection or a group.
  std::uint32_t next_id() noexcept {
    if (++last_id_ == 0) ++last_id_;
    return last_id_;
  }
  /// Sends what is held back, then `bytes`.
  bool write_all(protocol::byte_view bytes);
  /// While the socket has no room, what the broker sends meanwhile is read into the decoder
  /// (read_available): a broker that stopped reading until we read its output (deliveries,
  /// answers) would otherwise wait for us as we wait for it.
  bool send_bytes(protocol::byte_view bytes);
  /// Waits up to the request timeout for room to write (`for_write`; else for the socket to
  /// be readable, as TLS may need), reading what arrives meanwhile while the decoder holds
  /// less than 4 × max_frame_bytes, and all that arrived before the broker ended the
  /// connection when it did (the write that fails next could leave it unread: over TLS for
  /// good); false when the time ran out (lost_ is then ETIMEDOUT) or the connection failed.
  bool wait_to_send(bool for_write);
  /// One read of what has arrived into the decoder, without waiting: how many bytes it
  /// brought (0: none had arrived); nothing when the connection failed or the broker closed
  /// it (over TLS, also once a fatal error was seen: OpenSSL must not be called again then).
  std::optional<std::size_t> read_available();
  /// Why the connection failed (`what`, with the system's reason), as a retriable failure;
  /// or the broker's refusal of this client, when it sent a TLS alert refusing it (tls_alert_).
  failure lost(const std::string& what) const;
  /// A frame from the broker that the decoder refused: one over options::max_frame_bytes
  /// says its size and the limit (frame_too_large, network EMSGSIZE, not retriable).
  failure bad_frame(std::error_code why) const;
  /// After a write failed: when the connection `was_usable` until then, what had arrived is
  /// read (salvage; after a write that timed out, only what was read already) and the
  /// broker's refusal of a frame over its max_frame_bytes returned when it sent one (which no
  /// retry would pass); else why the connection was lost.
  failure write_failed(bool was_usable);
  /// What flush() would send, without waiting for room in the socket (the connection ends).
  void send_held_before_closing();
  /// A UserAdmin request with the next id; upserts add their salted password.
  protocol::native::user_admin_request user_admin(protocol::native::user_op op, const std::string& user,
                                                  const std::string& mechanism);
  result<std::vector<protocol::native::acl_entry>> acl_call(protocol::native::acl_op op,
                                                            std::vector<protocol::native::acl_entry> entries);
  /// Reads frames until the Response or Error to request `request_id` arrives, for up to
  /// `wait` in all (the request timeout when zero; when it runs out the connection is
  /// unusable, and says it timed out); pushed frames are queued, and Errors
  /// for other requests that expect no Response (ended subscriptions, publishes without
  /// acks, a group membership) are kept for their readers. Any other answer means the
  /// connection is out of step: it is then unusable. Once the connection failed, what had
  /// arrived is still looked at (salvage).
  result<std::pair<protocol::native::response_header, protocol::buffer>> wait_response(
      std::uint32_t request_id, std::chrono::milliseconds wait = std::chrono::milliseconds(0));
  /// After the connection failed: the frames that had already arrived (in the decoder, or
  /// the socket unless TLS failed), read without waiting for as long as reads bring some, up
  /// to the answer to `request_id` (0: all of them); that answer and pipelined publishes' go
  /// into early_answers_, pushes to their queues; the rest is dropped. When our own clock
  /// ended the connection (lost_ is ETIMEDOUT), only the frames the decoder holds: the
  /// broker may still be up, pushing as fast as we read. Returns the broker's refusal of a
  /// frame over its max_frame_bytes among them (an Error of request 0).
  std::optional<failure> salvage(std::uint32_t request_id);
  /// A failure other than a timeout leaves the connection unusable; on an unusable one it
  /// fails at once.
  result<protocol::buffer> read_frame(std::chrono::milliseconds wait, bool* timed_out);
  /// The next whole frame the decoder holds, header included; nothing when it holds none (a
  /// frame it refused is a failure: bad_frame). Reads nothing from the socket.
  result<std::optional<protocol::buffer>> held_frame();
  /// The next frame within `wait`; once that is up (or when it is zero), what has already
  /// arrived is still read, without waiting, for as long as reads bring some: a frame larger
  /// than one read is not missed.
  result<protocol::buffer> read_frame_once(std::chrono::milliseconds wait, bool* timed_out);
  /// Keeps a frame its reader does not want where its own reader looks (pushes, answers to
  /// pipelined publishes, Errors that answer no call waiting); nothing when it was kept or
  /// is a push of a kind not known here. Any other answer, an Error of request 0 or a
  /// malformed Error is returned as the failure it is, and the connection is then unusable
  /// (out of step, or ended by the broker).
  std::optional<failure> set_aside(protocol::buffer& bytes);
  /// Reads what has arrived, without waiting, setting every frame aside; a failure meanwhile
  /// is kept for next_publish_error.
  void read_arrived();
  /// The answer to the pipelined publish `request_id`, which is awaited until it comes.
  result<protocol::native::publish_response> publish_answer(std::uint32_t request_id);
  result<fetched> decode_fetched(const protocol::native::fetch_response& f, std::int64_t from);

  template <class T, class Decode>
  result<T> call(protocol::buffer request, Decode decode);

  /// Sets up TLS on fd_ and runs the handshake by `deadline`; a failure says why.
  std::optional<failure> start_tls(std::chrono::steady_clock::time_point deadline);
  /// Waits until `deadline` at most for the socket to be readable or writable.
  bool wait_socket(bool for_write, std::chrono::steady_clock::time_point deadline);
  /// authenticate(), every step by `deadline` (open() gives what is left of its own).
  result<bool> authenticate(const std::string& mechanism, const std::string& user, const std::string& password,
                            std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  bool broken_ = false;
  /// Why the connection failed, as the system said (failure::network).
  std::error_code lost_;
  /// OpenSSL reported a fatal error (or the peer's close) on this connection: no TLS call
  /// may follow; only what the decoder holds can still be read.
  bool tls_failed_ = false;
  /// The fatal alert the broker sent, as OpenSSL names it ("tlsv13 alert certificate
  /// required"): with TLS 1.3 a client certificate refused (expired, of an unknown CA, none)
  /// is learnt after the handshake, at the next read. When it refuses this client, every
  /// failure says so from then on, as authentication_failed: no retry changes it; any other
  /// alert is named in the connection lost (a retriable reset).
  tls_alert tls_alert_;
  /// How many bytes the decoder held when it last found no whole frame in them (0: not
  /// looked at since the last frame taken): has_pending() is true only for more.
  std::size_t unframed_ = 0;
  /// Subscribe request id -> subscription id: an Error frame ending a subscription names
  /// the Subscribe's request.
  std::map<std::uint32_t, std::uint32_t> subscribed_by_request_;
  std::unique_ptr<protocol::security::tls_client> tls_;
  options opts_;
  std::uint32_t last_id_ = 0;
  /// Both bounded by options::max_frame_bytes (frames read, batches decompressed).
  protocol::frame_decoder decoder_;
  std::unique_ptr<const protocol::codec_manager> codecs_;
  /// For next_delivery, in arrival order: Deliver frames, and the ends of subscriptions the
  /// broker ended (failures naming them), each behind the deliveries that came before it.
  std::deque<std::variant<protocol::buffer, failure>> deliveries_;
  std::deque<protocol::native::group_assignment> assignments_;
  /// Subscription id -> the first offset its next delivery is to hold (-1: not known yet,
  /// for a subscription from the end): a delivery is a stored batch, whole, which may start
  /// before it. Kept until an ended subscription's end is taken (its deliveries come first).
  std::map<std::uint32_t, std::int64_t> subscription_next_;
  /// Subscribe requests of subscriptions unsubscribed from: the Error ending one may cross
  /// the Unsubscribe, and is then dropped.
  std::set<std::uint32_t> ended_subscriptions_;
  /// Publishes sent without acks, by request id: the broker answers them only if refused.
  std::set<std::uint32_t> unacked_publishes_;
  /// Their refusals (and failures of the connection found meanwhile), the latest kept.
  std::deque<failure> publish_errors_;
  /// Pipelined publishes with acks whose responses are still to be read, in order.
  std::deque<std::uint32_t> awaited_publishes_;
  /// A group membership the broker ended (an Error of request id 0 that is no framing
  /// error, while a membership was made on this connection), or a malformed assignment, for
  /// next_assignment.
  std::deque<failure> group_errors_;
  bool joined_ = false;
  /// Answers (Response or Error frames) to pipelined publishes that arrived while another
  /// call or reader was reading: kept for receive_publish, by request id.
  std::map<std::uint32_t, protocol::buffer> early_answers_;
  /// Keeps an answer to a pipelined publish for receive_publish; false for other frames.
  bool stash_early_answer(protocol::buffer& bytes);
  /// Forgets the publishes without acks sent before request `answered`: answers come in
  /// request order, so an Error for one of them would have come before.
  void answered_up_to(std::uint32_t answered);
  /// An Error of request `request_id` that answers no call waiting (a subscription's end, a
  /// refused publish without acks, a membership's end): kept where its reader looks (true).
  bool keep_for_its_reader(std::uint32_t request_id, failure& f);
  /// Keeps a pushed frame (Deliver, GroupAssignment) for its reader; false for other types.
  /// A GroupAssignment that does not decode is kept as a failure for next_assignment.
  bool stash_push(protocol::buffer& bytes);
  protocol::buffer scratch_;
  /// Pipelined publishes not sent yet (flush()).
  protocol::buffer held_;
};

}  // namespace portask::client
