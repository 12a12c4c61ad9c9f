#include "storage/redis_store.hpp"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <charconv>
#include <iterator>
#include <limits>
#include <span>

#include "logging/loggers.hpp"
#include "protocol/wire.hpp"

namespace portask::storage {

namespace {

// Lower-case hex of `s`'s SHA-1, as Redis names a script; empty if OpenSSL cannot make it
// (a digest no server has: every call is then answered NOSCRIPT and sent by its body).
std::string sha1_hex(std::string_view s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(s.data(), s.size(), md, &len, EVP_sha1(), nullptr) != 1) return {};
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += digits[md[i] >> 4];
    out += digits[md[i] & 0xf];
  }
  return out;
}

// A Lua script of the store, described once: its body, sent only to a server that does not
// have it yet (EVAL, which also caches it there), and the SHA-1 of it, by which every call
// names it (EVALSHA) instead of sending the body again.
class lua_script {
 public:
  explicit lua_script(std::string body) : body_(std::move(body)), sha1_(sha1_hex(body_)) {}
  lua_script(const lua_script&) = delete;
  lua_script& operator=(const lua_script&) = delete;
  const std::string& body() const noexcept { return body_; }
  const std::string& sha1() const noexcept { return sha1_; }

 private:
  std::string body_;
  std::string sha1_;
};

}  // namespace

// One RESP command; arguments point at owned strings or at caller bytes (frames are not
// copied before the socket write).
class redis_store::command {
 public:
  command& arg(std::string_view s) {
    argv_.push_back(s.data());
    lens_.push_back(s.size());
    return *this;
  }
  command& arg(protocol::byte_view b) { return arg(protocol::as_chars(b)); }
  /// A call of `s` (then numkeys, keys and arguments, as EVAL takes them), by its digest:
  /// the server has it once any call sent its body (pipeline, on NOSCRIPT). Without a
  /// digest (sha1_hex failed) by its body at once: NOSCRIPT would answer every call.
  command& script(const lua_script& s) {
    script_ = &s;
    if (s.sha1().empty()) return arg("EVAL").arg(s.body());
    return arg("EVALSHA").arg(s.sha1());
  }
  /// The script it calls (null: none).
  const void* called() const noexcept { return script_; }
  /// The script call answered NOSCRIPT, made to send the script's body instead (EVAL): the
  /// same arguments after it, and the server that runs it keeps the script for later calls.
  void send_body() noexcept {
    if (script_ == nullptr) return;
    argv_[0] = "EVAL";
    lens_[0] = 4;
    argv_[1] = script_->body().data();
    lens_[1] = script_->body().size();
  }
  command& own(std::string s) {
    owned_.push_back(std::make_unique<std::string>(std::move(s)));
    return arg(std::string_view{*owned_.back()});
  }
  int argc() const noexcept { return static_cast<int>(argv_.size()); }
  const char** argv() const noexcept { return const_cast<const char**>(argv_.data()); }
  const std::size_t* lens() const noexcept { return lens_.data(); }

 private:
  // Heap-held so that argv_ stays valid when the command itself is moved (a short string's
  // bytes live inside the string object).
  std::vector<std::unique_ptr<std::string>> owned_;
  std::vector<const char*> argv_;
  std::vector<std::size_t> lens_;
  const lua_script* script_ = nullptr;  ///< the script it calls, if any
};

// Owning handle to a hiredis reply.
class redis_store::reply {
 public:
  explicit reply(redisReply* r) noexcept : r_(r) {}
  reply(reply&& o) noexcept : r_(std::exchange(o.r_, nullptr)) {}
  reply& operator=(reply&& o) noexcept {
    std::swap(r_, o.r_);
    return *this;
  }
  ~reply() {
    if (r_) freeReplyObject(r_);
  }
  const redisReply* operator->() const noexcept { return r_; }
  const redisReply* get() const noexcept { return r_; }
  bool is_error() const noexcept { return r_->type == REDIS_REPLY_ERROR; }

 private:
  redisReply* r_;
};

namespace {

using protocol::byte_view;

std::string_view str(const redisReply* r) noexcept {
  return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
               r->type == REDIS_REPLY_ERROR)
             ? std::string_view{r->str, r->len}
             : std::string_view{};
}

template <class Int>
bool parse_int(std::string_view s, Int& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size();
}

// Stream ids are 0-<base offset + 1>: Redis reserves 0-0, and the shift keeps the order (and
// so the store's own rejection of an id at or below the last one).
std::string entry_id(std::int64_t offset) { return "0-" + std::to_string(offset + 1); }

// A stream entry's frame as parse_header finds it: its bytes as they came, neither checked
// nor copied, or, for an entry a header script gave back (entry_header_lua), only its size.
struct entry_frame {
  byte_view bytes;
  std::size_t size = 0;
  bool present = false;  ///< the bytes came (not only the size)
};

// Parses one stream entry, [id, [field, value, ...]]: its header fields into `out`, its frame
// into `frame`, untouched. Whether a frame is wanted is decided by the header: a reader checks
// and copies only the frames it returns (take_frame); bounds, the producer history scan and
// retention's search serve no data and take none.
std::error_code parse_header(const redisReply* e, stored_batch& out, entry_frame& frame) {
  if (e->type != REDIS_REPLY_ARRAY || e->elements != 2) return errc::corrupt_stored_data;
  auto id = str(e->element[0]);
  if (!id.starts_with("0-") || !parse_int(id.substr(2), out.base_offset) || out.base_offset < 1)
    return errc::corrupt_stored_data;
  out.base_offset -= 1;
  const redisReply* fields = e->element[1];
  if (fields->type != REDIS_REPLY_ARRAY) return errc::corrupt_stored_data;
  bool have_count = false, have_running_ts = false;
  for (std::size_t i = 0; i + 1 < fields->elements; i += 2) {
    auto name = str(fields->element[i]);
    auto value = str(fields->element[i + 1]);
    if (name == "f") {
      frame.bytes = protocol::as_bytes(value);
      frame.size = value.size();
      frame.present = true;
    } else if (name == "z") {  // a header script's stand-in for the frame (never stored)
      if (!parse_int(value, frame.size)) return errc::corrupt_stored_data;
    } else if (name == "n") {
      have_count = parse_int(value, out.record_count);
    } else if (name == "t") {
      parse_int(value, out.max_timestamp);
    } else if (name == "p") {
      parse_int(value, out.producer.id);
    } else if (name == "e") {
      parse_int(value, out.producer.epoch);
    } else if (name == "s") {
      parse_int(value, out.producer.base_sequence);
    } else if (name == "c") {
      parse_int(value, out.end_bytes);
    } else if (name == "T") {
      have_running_ts = parse_int(value, out.end_timestamp);
    }
  }
  // Entries written before running totals existed: their own timestamp, no bytes.
  if (!have_running_ts) out.end_timestamp = out.max_timestamp;
  return have_count ? std::error_code{} : make_error_code(errc::corrupt_stored_data);
}

// An entry's frame, checked (magic, version, CRC32) and copied into `out` (read, served,
// released).
std::error_code take_frame(const entry_frame& frame, stored_batch& out) {
  if (!frame.present) return errc::corrupt_stored_data;
  if (auto ec = verify_stored_frame(frame.bytes)) return ec;
  out.frame = protocol::shared_bytes::adopt({frame.bytes.begin(), frame.bytes.end()});
  return {};
}

// Lua: a stream entry as XRANGE gives it, with its frame's size (a decimal string) under "z"
// in the frame's place, and that size: what a header script answers instead of the frame.
// The frame is still copied into the script's memory (redis.call hands over whole entries),
// but not onto the wire, nor checked, nor copied again by the client.
constexpr std::string_view entry_header_lua = R"lua(
local function header(e)
  local f, size = e[2], 0
  for j = 1, #f, 2 do
    if f[j] == 'f' then
      size = #f[j + 1]
      f[j], f[j + 1] = 'z', string.format('%d', size)
    end
  end
  return e, size
end
)lua";

// A producer's snapshot field: epoch, then its batches (varints).
std::string encode_window(const producer_batch* first, std::size_t n) {
  protocol::buffer b;
  protocol::wire_writer w{b};
  w.uvarint(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& p = first[i];
    w.varint(p.epoch);
    w.varint(p.first_seq);
    w.varint(p.last_seq);
    w.varint(p.base_offset);
    w.varint(p.record_count);
    w.varint(p.last_use_ms);
  }
  return std::string(protocol::as_chars(b));
}

bool decode_window(std::int64_t id, std::string_view data, std::vector<producer_batch>& out) {
  protocol::wire_reader r{protocol::as_bytes(data)};
  std::uint64_t n = 0;
  if (!r.uvarint(n) || n > r.remaining()) return false;
  for (std::uint64_t i = 0; i < n; ++i) {
    std::int64_t epoch = 0, first = 0, last = 0, base = 0, count = 0, used = 0;
    if (!r.varint(epoch) || !r.varint(first) || !r.varint(last) || !r.varint(base) ||
        !r.varint(count) || !r.varint(used))
      return false;
    out.push_back({id, static_cast<std::int16_t>(epoch), static_cast<std::int32_t>(first),
                   static_cast<std::int32_t>(last), base, static_cast<std::uint32_t>(count), used});
  }
  return r.at_end();
}

// This end of a connection as the server names it in CLIENT LIST: ip:port, [ip6]:port.
std::string local_address(int fd) {
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) return {};
  char ip[INET6_ADDRSTRLEN] = {};
  if (a.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&a);
    inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
    return std::string(ip) + ":" + std::to_string(ntohs(in->sin_port));
  }
  if (a.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&a);
    inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
    return "[" + std::string(ip) + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  return {};
}

// Connections whose last call may still be executed by the server, per server address.
// A connection is named by its client id and its local address together: a restarted server
// numbers clients from 1 again, and killing by id alone could close an innocent connection.
struct stale_connection {
  long long id;
  std::string addr;
  friend bool operator==(const stale_connection&, const stale_connection&) = default;
};
struct stale_connections {
  std::mutex mutex;
  std::map<std::string, std::vector<stale_connection>> by_server;
  std::atomic<int> count{0};
};
stale_connections& stale() {
  static stale_connections s;
  return s;
}

// A refusal of a connection's setup that retrying does not cure: the URL's credentials or
// database do not suit the server (or its ACL user lacks a command the setup sends).
bool configuration_refusal(std::string_view reply) {
  for (std::string_view cause : {"WRONGPASS", "NOAUTH", "NOPERM", "ERR invalid password", "ERR AUTH",
                                 "ERR Client sent AUTH", "ERR DB index", "ERR invalid DB index"})
    if (reply.starts_with(cause)) return true;
  return false;
}

// Set once a connection failed in a way that retrying does not cure was logged at warn or
// above, one for each cause (a TLS failure; the setup's refusal of the credentials or the
// database), so that one logged does not silence the other; cleared when any connection
// succeeds. Every store instance of the process (each storage actor has one, and each tries
// again every second or so) shares them, so such a failure is one line, not one per attempt.
std::atomic<bool> tls_problem_logged{false};
std::atomic<bool> setup_refusal_logged{false};

// A topic's record: its partition count and configs, then its id (`with_id` false: without,
// the part update_topic's script compares).
std::string encode_topic(const topic_info& t, bool with_id = true) {
  protocol::buffer b;
  protocol::wire_writer w{b};
  w.varint(t.partitions);
  w.uvarint(t.configs.size());
  for (const auto& [k, v] : t.configs) {
    w.bytes(k);
    w.bytes(v);
  }
  if (with_id) w.raw(t.id.data(), t.id.size());
  return std::string(protocol::as_chars(b));
}

std::string id_bytes(const storage::topic_id& id) {
  return std::string(reinterpret_cast<const char*>(id.data()), id.size());
}

bool decode_topic(std::string_view name, std::string_view data, topic_info& t) {
  protocol::wire_reader r{protocol::as_bytes(data)};
  std::int64_t partitions = 0;
  std::uint64_t n = 0;
  if (!r.varint(partitions) || !r.uvarint(n) || n > r.remaining()) return false;
  t.name = std::string(name);
  t.partitions = static_cast<std::int32_t>(partitions);
  t.configs.resize(static_cast<std::size_t>(n));
  for (auto& [k, v] : t.configs)
    if (!r.bytes(k) || !r.bytes(v)) return false;
  // Records written before topics had ids end here; they get one made from the name, the
  // same on every broker and every restart.
  if (r.at_end()) {
    t.id = topic_id_from_name(name);
    return true;
  }
  protocol::byte_view id;
  if (!r.raw(t.id.size(), id)) return false;
  std::copy(id.begin(), id.end(), t.id.begin());
  return r.at_end();
}

std::string offset_field(const topic_partition& tp) {
  return tp.topic + ":" + std::to_string(tp.partition);
}

// A committed offset's hash value. The first format was varint(offset) then the metadata's
// bytes. The current one starts with ten bytes that are no valid varint (nine continuation
// bytes, then bits beyond 64), so values stored by either are told apart (the first kind has
// no leader epoch or times: -1), and a broker from before this format refuses such a value
// (corrupt stored data) instead of taking it for offset 0.
constexpr std::uint8_t committed_marker[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02};
constexpr std::uint8_t committed_version = 1;

std::string encode_committed(const committed_offset& o) {
  protocol::buffer value;
  protocol::wire_writer w{value};
  w.raw(committed_marker, sizeof committed_marker);
  w.u8(committed_version);
  w.varint(o.offset);
  w.varint(o.leader_epoch);
  w.varint(o.commit_time_ms);
  w.varint(o.expire_time_ms);
  w.raw(o.metadata);
  return std::string(protocol::as_chars(value));
}

bool decode_committed(std::string_view value, committed_offset& o) {
  protocol::wire_reader rd{protocol::as_bytes(value)};
  const bool current =
      value.size() >= sizeof committed_marker &&
      std::equal(std::begin(committed_marker), std::end(committed_marker), value.begin(),
                 [](std::uint8_t m, char c) { return m == static_cast<std::uint8_t>(c); });
  if (current) {
    protocol::byte_view marker;
    std::uint8_t version = 0;
    std::int64_t epoch = 0;
    if (!rd.raw(sizeof committed_marker, marker) || !rd.u8(version) ||
        version != committed_version || !rd.varint(o.offset) || !rd.varint(epoch) ||
        epoch < std::numeric_limits<std::int32_t>::min() ||
        epoch > std::numeric_limits<std::int32_t>::max() ||
        !rd.varint(o.commit_time_ms) || !rd.varint(o.expire_time_ms))
      return false;
    o.leader_epoch = static_cast<std::int32_t>(epoch);
  } else if (!rd.varint(o.offset)) {
    return false;
  }
  protocol::byte_view meta;
  rd.raw(rd.remaining(), meta);
  o.metadata = std::string(protocol::as_chars(meta));
  return true;
}

// A group's metadata record: a format version byte (1), the generation (zig-zag varint), then
// the protocol type's bytes.
constexpr std::uint8_t group_metadata_version = 1;

std::string encode_group_metadata(const group_metadata& m) {
  protocol::buffer value;
  protocol::wire_writer w{value};
  w.u8(group_metadata_version);
  w.varint(m.generation);
  w.raw(m.protocol_type);
  return std::string(protocol::as_chars(value));
}

bool decode_group_metadata(std::string_view value, group_metadata& m) {
  protocol::wire_reader rd{protocol::as_bytes(value)};
  std::uint8_t version = 0;
  std::int64_t generation = 0;
  if (!rd.u8(version) || version != group_metadata_version || !rd.varint(generation) ||
      generation < std::numeric_limits<std::int32_t>::min() ||
      generation > std::numeric_limits<std::int32_t>::max())
    return false;
  m.generation = static_cast<std::int32_t>(generation);
  protocol::byte_view type;
  rd.raw(rd.remaining(), type);
  m.protocol_type = std::string(protocol::as_chars(type));
  return true;
}

// The metadata stored as `value` (a GET's reply): none ({"", 0}) when nothing is stored, and
// for a record this broker cannot read (a later format; `unreadable` is set, for the caller
// to log): a group's listing or description goes on without it.
group_metadata group_metadata_of(const redisReply* value, bool& unreadable) {
  group_metadata m;
  if (value == nullptr || value->type != REDIS_REPLY_STRING) return m;
  if (decode_group_metadata(str(value), m)) return m;
  unreadable = true;
  return {};
}

}  // namespace

std::string url_without_credentials(std::string_view url) {
  // Cut where parse_redis_url takes the credentials from: everything up to the last '@'
  // before the parameters (a password may hold '/' and '@' itself).
  const auto scheme = url.find("://");
  const auto from = scheme == std::string_view::npos ? 0 : scheme + 3;
  const auto at = url.substr(0, url.find('?', from)).rfind('@');
  if (at == std::string_view::npos || at < from) return std::string(url);
  return std::string(url.substr(0, from)) + std::string(url.substr(at + 1));
}

expected<redis_options> parse_redis_url(std::string_view url) {
  redis_options o;
  std::string_view rest;
  for (std::string_view scheme : {"redis://", "dragonfly://", "rediss://"})
    if (url.starts_with(scheme)) rest = url.substr(scheme.size());
  if (rest.empty()) return errc::invalid_request;
  o.tls.enabled = url.starts_with("rediss://");
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    if (!o.tls.enabled) return errc::invalid_request;  // the parameters are TLS settings
    auto params = rest.substr(q + 1);
    rest = rest.substr(0, q);
    while (!params.empty()) {
      const auto amp = params.find('&');
      const auto param = params.substr(0, amp);
      params = amp == std::string_view::npos ? std::string_view{} : params.substr(amp + 1);
      const auto eq = param.find('=');
      if (eq == std::string_view::npos) return errc::invalid_request;
      const auto key = param.substr(0, eq);
      std::string value(param.substr(eq + 1));
      if (key == "tls_ca_file") o.tls.ca_file = value;
      else if (key == "tls_cert_file") o.tls.cert_file = value;
      else if (key == "tls_key_file") o.tls.key_file = value;
      else if (key == "tls_server_name") o.tls.server_name = value;
      else return errc::invalid_request;
    }
  }
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    auto auth = rest.substr(0, at);
    if (auto colon = auth.find(':'); colon != std::string_view::npos) {
      o.username = std::string(auth.substr(0, colon));
      auth = auth.substr(colon + 1);
    }
    o.password = std::string(auth);
    rest = rest.substr(at + 1);
  }
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    auto db = rest.substr(slash + 1);
    if (!db.empty() && (!parse_int(db, o.db) || o.db < 0)) return errc::invalid_request;
    rest = rest.substr(0, slash);
  }
  if (rest.empty()) return errc::invalid_request;  // no host: "redis:///0", "redis://user@"
  if (auto colon = rest.rfind(':'); colon != std::string_view::npos && rest.front() != '[') {
    if (!parse_int(rest.substr(colon + 1), o.port)) return errc::invalid_request;
    rest = rest.substr(0, colon);
  } else if (rest.front() == '[') {  // [::1]:6379
    auto close = rest.find(']');
    if (close == std::string_view::npos) return errc::invalid_request;
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':' || !parse_int(rest.substr(close + 2), o.port))
        return errc::invalid_request;
    }
    rest = rest.substr(1, close - 1);
  }
  // Port 0 (as a negative database above) would pass the parse and then fail every connection
  // for ever: refused here, where the broker checks the URL at startup. (A host left empty
  // here was ":6379" or "[]".)
  if (rest.empty() || o.port == 0) return errc::invalid_request;
  o.host = std::string(rest);
  return o;
}

redis_store::redis_store(redis_options options) : options_(std::move(options)) {}

redis_store::~redis_store() { disconnect(); }

store_factory redis_store::factory(redis_options options) {
  return [options]() -> expected<std::unique_ptr<log_store>> {
    return std::unique_ptr<log_store>(std::make_unique<redis_store>(options));
  };
}

std::string redis_store::offsets_key(const std::string& group) const {
  return options_.key_prefix + ":offsets:{" + group + "}";
}

std::string redis_store::group_metadata_key(const std::string& group) const {
  return options_.key_prefix + ":group:{" + group + "}";
}

std::string redis_store::producers_key(const topic_partition& tp) const {
  return options_.key_prefix + ":{" + tp.topic + ":" + std::to_string(tp.partition) +
         "}:producers";
}

std::string redis_store::start_key(const topic_partition& tp) const {
  return options_.key_prefix + ":{" + tp.topic + ":" + std::to_string(tp.partition) + "}:start";
}

std::string redis_store::log_key(const topic_partition& tp) const {
  return options_.key_prefix + ":{" + tp.topic + ":" + std::to_string(tp.partition) + "}:log";
}

std::string redis_store::compacting_key(const topic_partition& tp) const {
  return log_key(tp) + ":compacting";
}

void redis_store::disconnect() noexcept { conn_.reset(); }

std::error_code redis_store::connect() {
  if (conn_) {
    // A connection the server closed while it sat idle (a restart, CLIENT KILL, its idle
    // timeout) is replaced before anything is sent on it, so the call goes through at once:
    // nothing was sent since its last reply, so nothing is in doubt and nothing is fenced.
    // Checked before every call, not only after some idle time: one non-blocking peek. While
    // connecting or fencing (no_fence_) the connection was opened or checked just before.
    if (no_fence_ || conn_->still_open()) return {};
    logging::storage().debug("redis {}:{}: {} while idle: reconnecting", options_.host, options_.port,
                             conn_->error());
    disconnect();
  }
  std::string why;
  conn_ = resp_connection::open(options_.host, options_.port, options_.tls, options_.timeout, why,
                                options_.max_reply_bytes);
  if (!conn_) {
    failure_ = why;
    // A TLS failure (an untrusted certificate) does not go away by retrying: say so louder,
    // once until a connection succeeds. Any other (refused, unreachable) is for the caller to
    // report: the supervisor's "unreachable" line names it (failure_detail).
    if (why.starts_with("TLS") && !tls_problem_logged.exchange(true))
      logging::storage().warn("redis connect {}:{} failed: {} (logged once until a connection "
                              "succeeds, at debug meanwhile)",
                              options_.host, options_.port, why);
    else
      logging::storage().debug("redis connect {}:{} failed: {}", options_.host, options_.port, why);
    return errc::storage_unavailable;
  }
  client_id_ = -1;
  scripts_sent_.clear();  // a new connection may reach another server
  std::vector<command> setup;
  if (!options_.username.empty())
    setup.emplace_back().arg("AUTH").arg(options_.username).arg(options_.password);
  else if (!options_.password.empty())
    setup.emplace_back().arg("AUTH").arg(options_.password);
  if (options_.db != 0) setup.emplace_back().arg("SELECT").own(std::to_string(options_.db));
  // PING answers -LOADING while a restarted server still reads its data: such a connection
  // is not used (commands would start working halfway through a pipeline).
  setup.emplace_back().arg("PING");
  setup.emplace_back().arg("CLIENT").arg("ID");
  no_fence_ = true;  // AUTH first; the fence follows below
  auto replies = round_trip(setup);
  no_fence_ = false;
  if (!replies) return replies.error();
  for (std::size_t i = 0; i + 1 < replies->size(); ++i)
    if ((*replies)[i].is_error()) {
      failure_ = str((*replies)[i].get());
      // Wrong credentials or database: every attempt is refused alike until the URL changes,
      // one error line says so. Anything else (-LOADING while a restarted server reads its
      // data) passes.
      if (!configuration_refusal(failure_))
        logging::storage().warn("redis {}:{} not usable yet: {}", options_.host, options_.port, failure_);
      else if (!setup_refusal_logged.exchange(true))
        logging::storage().error("redis {}:{} refused the store's connection: {} (a configuration "
                                 "problem: check the store URL's user, password and database; logged "
                                 "once until a connection succeeds, at debug meanwhile)",
                                 options_.host, options_.port, failure_);
      else
        logging::storage().debug("redis {}:{} refused the store's connection: {}", options_.host,
                                 options_.port, failure_);
      disconnect();
      return errc::storage_unavailable;
    }
  tls_problem_logged.store(false, std::memory_order_relaxed);
  setup_refusal_logged.store(false, std::memory_order_relaxed);
  // A server without CLIENT ID cannot be fenced; it still works, with that gap.
  if (const auto& id = replies->back(); id->type == REDIS_REPLY_INTEGER) client_id_ = id->integer;
  local_addr_ = local_address(conn_->fd());
  return fence_stale_connections();
}

std::error_code redis_store::fence_stale_connections() {
  auto& s = stale();
  if (no_fence_ || s.count.load(std::memory_order_acquire) == 0) return {};
  const std::string server = options_.host + ":" + std::to_string(options_.port);
  std::vector<stale_connection> ids;
  {
    std::lock_guard lock{s.mutex};
    auto it = s.by_server.find(server);
    if (it == s.by_server.end()) return {};
    ids = it->second;
  }
  std::vector<command> kills;
  for (const auto& c : ids)
    kills.emplace_back().arg("CLIENT").arg("KILL").arg("ID").own(std::to_string(c.id)).arg(
        "ADDR").arg(c.addr);
  no_fence_ = true;
  auto replies = round_trip(kills);
  no_fence_ = false;
  if (!replies) return replies.error();
  // Answered with a count (killed, or 0: already gone): the server runs nothing more of it.
  // A server busy with a script answers -BUSY: tried again before the next call. Any other
  // error (a server or proxy without this form of CLIENT KILL, or an ACL that forbids it)
  // means the fence does not hold: said so, not logged as done.
  std::size_t fenced = 0;
  std::vector<std::string> refused;
  bool busy = false;
  for (std::size_t i = 0; i < ids.size() && i < replies->size(); ++i) {
    const auto& r = (*replies)[i];
    if (r.is_error()) {
      const auto text = str(r.get());
      if (text.starts_with("BUSY")) {
        busy = true;
        ids[i].id = -1;  // kept on the list
        continue;
      }
      refused.emplace_back(text);
      continue;
    }
    ++fenced;
  }
  {
    std::lock_guard lock{s.mutex};
    auto& list = s.by_server[server];
    for (const auto& c : ids) {
      if (c.id < 0) continue;
      if (auto it = std::find(list.begin(), list.end(), c); it != list.end()) {
        list.erase(it);
        s.count.fetch_sub(1, std::memory_order_release);
      }
    }
    if (list.empty()) s.by_server.erase(server);
  }
  if (fenced > 0)
    logging::storage().info("redis {}: fenced {} connection(s) whose last call was ambiguous", server, fenced);
  if (!refused.empty())
    logging::storage().error("redis {}: {} connection(s) whose last call was ambiguous could not be "
                             "fenced ({}): a command sent before a timeout may still run after later "
                             "ones (docs/storage.md)",
                             server, refused.size(), refused.front());
  if (busy) return errc::storage_unavailable;
  return {};
}

namespace {

bool noscript(const redis_store::reply& r) noexcept {
  return r.is_error() && str(r.get()).starts_with("NOSCRIPT");
}

}  // namespace

expected<std::vector<redis_store::reply>> redis_store::pipeline(std::span<command> commands,
                                                                pipeline_effect effect) {
  auto replies = round_trip(commands);
  if (!replies || std::none_of(replies->begin(), replies->end(), noscript)) return replies;
  // A call answered NOSCRIPT did not run; the pipeline's other commands did. (Nothing then
  // caches the script: one called only in such pipelines would fail each time. None is.)
  if (commands.size() > 1 && effect != pipeline_effect::reads_only) {
    logging::storage().warn("redis {}:{} did not have a script called in a pipeline of {} commands "
                            "that may write: not sent again, the call fails", options_.host,
                            options_.port, commands.size());
    return errc::storage_unavailable;
  }
  // Sent again by their bodies (EVAL), which caches them on the server that runs them: even
  // behind a proxy that routes each call by its keys, the next EVALSHA of it finds it there.
  bool lost = false;  // a script this connection had sent by its body before this pipeline
  const auto sent_before = scripts_sent_.size();
  for (std::size_t i = 0; i < commands.size(); ++i) {
    if (!noscript((*replies)[i])) continue;
    commands[i].send_body();
    const auto* s = commands[i].called();
    const auto before_end = scripts_sent_.begin() + static_cast<std::ptrdiff_t>(sent_before);
    if (std::find(scripts_sent_.begin(), before_end, s) != before_end)
      lost = true;
    else if (std::find(before_end, scripts_sent_.end(), s) == scripts_sent_.end())
      scripts_sent_.push_back(s);
  }
  // Once per script and connection is the lazy load; again means the server drops them
  // (SCRIPT FLUSH, or Redis 8 evicting EVAL-loaded scripts past 500 when another tenant
  // uses many), which is worth knowing: every such call then costs two round trips.
  const auto now = std::chrono::steady_clock::now();
  if (lost && (noscript_warned_ == std::chrono::steady_clock::time_point{} ||
               now - noscript_warned_ >= std::chrono::minutes(1))) {
    noscript_warned_ = now;
    logging::storage().warn("redis {}:{} answered NOSCRIPT for a script this connection had sent: the "
                            "server evicts or loses the store's scripts (SCRIPT FLUSH, or Redis 8 "
                            "evicting EVAL scripts another client crowds out), and such calls cost two "
                            "round trips (said at most once a minute)",
                            options_.host, options_.port);
  } else {
    logging::storage().debug("redis {}:{} answered NOSCRIPT: sent again with the script's body",
                             options_.host, options_.port);
  }
  replies = round_trip(commands);
  // Only a read sent again by its digest can be answered NOSCRIPT now (the server lost the
  // scripts once more meanwhile).
  if (replies && std::any_of(replies->begin(), replies->end(), noscript)) {
    logging::storage().warn("redis {}:{} lost the store's scripts again at once: the call fails",
                            options_.host, options_.port);
    return errc::storage_unavailable;
  }
  return replies;
}

expected<std::vector<redis_store::reply>> redis_store::round_trip(std::span<const command> commands) {
  failure_.clear();
  if (auto ec = connect()) return ec;
  if (auto ec = fence_stale_connections()) return ec;
  for (const auto& c : commands) conn_->append(c.argc(), c.argv(), c.lens());
  std::vector<reply> replies;
  replies.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    void* r = conn_->read_reply();
    if (r == nullptr) {
      failure_ = conn_->error();
      logging::storage().warn("redis {}:{}: {}", options_.host, options_.port, failure_);
      // Some of the commands may have been sent and may yet run: fence this connection.
      if (client_id_ >= 0 && !local_addr_.empty()) {
        auto& s = stale();
        std::lock_guard lock{s.mutex};
        s.by_server[options_.host + ":" + std::to_string(options_.port)].push_back(
            {client_id_, local_addr_});
        s.count.fetch_add(1, std::memory_order_release);
      }
      disconnect();
      // The commands were sent: whether they ran is unknown (errc::timeout says so).
      return errc::timeout;
    }
    replies.emplace_back(static_cast<redisReply*>(r));
  }
  return replies;
}

std::error_code redis_store::ping() {
  command c;
  c.arg("PING");
  auto r = pipeline({&c, 1});
  if (!r) return r.error();
  if (!(*r)[0].is_error()) return {};
  failure_ = str((*r)[0].get());
  return errc::storage_unavailable;
}

namespace {

// How many arguments add_entry_fields adds.
int entry_field_args(const append_request& r) noexcept { return r.producer.present() ? 16 : 10; }

// The stream entry fields of a batch (see the layout in redis_store.hpp).
template <class Command>
void add_entry_fields(Command& c, const append_request& r) {
  c.arg("f")
      .arg(r.frame)
      .arg("n")
      .own(std::to_string(r.record_count))
      .arg("t")
      .own(std::to_string(r.max_timestamp))
      .arg("c")
      .own(std::to_string(r.end_bytes))
      .arg("T")
      .own(std::to_string(r.end_timestamp));
  if (r.producer.present())
    c.arg("p")
        .own(std::to_string(r.producer.id))
        .arg("e")
        .own(std::to_string(r.producer.epoch))
        .arg("s")
        .own(std::to_string(r.producer.base_sequence));
}

}  // namespace

void redis_store::append(std::span<const append_request> requests,
                         std::vector<std::error_code>& results) {
  results.assign(requests.size(), std::error_code{});
  if (requests.empty()) return;
  if (std::any_of(requests.begin(), requests.end(), [](const auto& r) { return !r.fence.empty(); }))
    return append_fenced(requests, results);
  // One transaction: the server runs every XADD of the round trip or none. A refusal while
  // queueing (LOADING after a restart, OOM, MISCONF, READONLY) aborts them all, so a
  // partition never has batch N+1 stored while N was refused; and a connection lost before
  // EXEC arrived leaves nothing behind.
  std::vector<command> commands(requests.size() + 2);
  commands.front().arg("MULTI");
  commands.back().arg("EXEC");
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const auto& r = requests[i];
    auto& c = commands[i + 1];
    c.arg("XADD").own(log_key(*r.tp)).own(entry_id(r.base_offset));
    add_entry_fields(c, r);
  }
  auto replies = pipeline(commands);
  if (!replies) {
    results.assign(requests.size(), replies.error());
    return;
  }
  const auto& exec = replies->back();
  if (exec.is_error() || exec->type != REDIS_REPLY_ARRAY || exec->elements != requests.size()) {
    // EXECABORT (a command was refused while queueing) or MULTI itself refused: nothing ran.
    std::string_view why = exec.is_error() ? str(exec.get()) : "no transaction result";
    for (std::size_t i = 0; i + 1 < replies->size(); ++i)
      if ((*replies)[i].is_error()) why = str((*replies)[i].get());
    logging::storage().warn("store refused {} appends: {}", requests.size(), why);
    results.assign(requests.size(), make_error_code(errc::storage_unavailable));
    return;
  }
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const redisReply* r = exec->element[i];
    if (r->type != REDIS_REPLY_ERROR) continue;
    auto text = str(r);
    logging::storage().warn("XADD {} {} refused: {}", log_key(*requests[i].tp), requests[i].base_offset, text);
    // "The ID specified in XADD is equal or smaller than the target stream top item".
    results[i] = text.find("ID") != std::string_view::npos ? errc::offset_conflict
                                                            : errc::storage_unavailable;
  }
}

namespace {

// Appends with each partition's lease checked in the same atomic step (a script runs
// alone on the server): KEYS are (log, lease) per batch; ARGV per batch its fence (the
// lease value its writer holds; "" none), entry id, field count and fields. A writer's batches
// of a partition after a refused one are refused too, so nothing is stored after a gap.
const lua_script fenced_append_script{R"lua(
local out, failed, a = {}, {}, 1
for i = 1, #KEYS / 2 do
  local log, lease = KEYS[2 * i - 1], KEYS[2 * i]
  local fence, id, n = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2])
  local writer = log .. '\n' .. fence
  if failed[writer] then
    out[i] = failed[writer]
  elseif fence ~= '' and redis.call('GET', lease) ~= fence then
    out[i] = 'FENCED'
    failed[writer] = out[i]
  else
    local fields = {}
    for j = 1, n do fields[j] = ARGV[a + 2 + j] end
    local r = redis.pcall('XADD', log, id, unpack(fields))
    if type(r) == 'table' and r.err then
      out[i] = 'ERR ' .. r.err
      failed[writer] = out[i]
    else
      out[i] = 'OK'
    end
  end
  a = a + 3 + n
end
return out
)lua"};

}  // namespace

void redis_store::append_fenced(std::span<const append_request> requests,
                                std::vector<std::error_code>& results) {
  command c;
  c.script(fenced_append_script).own(std::to_string(requests.size() * 2));
  for (const auto& r : requests) c.own(log_key(*r.tp)).own(lease_key(partition_lease(*r.tp)));
  for (const auto& r : requests) {
    c.arg(r.fence).own(entry_id(r.base_offset)).own(std::to_string(entry_field_args(r)));
    add_entry_fields(c, r);
  }
  auto replies = pipeline({&c, 1});
  if (!replies) {
    results.assign(requests.size(), replies.error());
    return;
  }
  const auto& out = (*replies)[0];
  if (out.is_error() || out->type != REDIS_REPLY_ARRAY || out->elements != requests.size()) {
    logging::storage().warn("store refused {} fenced appends: {}", requests.size(),
                            out.is_error() ? str(out.get()) : "no script result");
    results.assign(requests.size(), make_error_code(errc::storage_unavailable));
    return;
  }
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const auto status = str(out->element[i]);
    if (status == "OK") continue;
    if (status == "FENCED") {
      results[i] = errc::not_leader;
      continue;
    }
    logging::storage().warn("XADD {} {} refused: {}", log_key(*requests[i].tp), requests[i].base_offset, status);
    results[i] = status.find("ID") != std::string_view::npos ? errc::offset_conflict
                                                              : errc::storage_unavailable;
  }
}

namespace {

// The entry at or before an id (ARGV[1], its sequence part), as XREVRANGE id - COUNT 1 finds
// it, but without its cost when there is none: redis-server then walks the whole stream back
// from its end (a compacted log's first entry lies past its start, so every read from the
// start would pay it). An entry that ends before the id's offset is left out: a reader at the
// log's end (a consumer waiting for more) would otherwise be sent the last batch, whole, and
// check it, on every read, for nothing.
const lua_script entry_at_or_before_script{R"lua(
local function seq(id) return tonumber(string.match(id, '%-(%d+)$') or '') end
local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
if #first == 0 or seq(first[1][1]) > tonumber(ARGV[1]) then
  return {}
end
local at = redis.call('XREVRANGE', KEYS[1], '0-' .. ARGV[1], '-', 'COUNT', 1)
local f = #at == 1 and at[1][2] or {}
for j = 1, #f, 2 do
  local n = f[j] == 'n' and tonumber(f[j + 1])
  if n and seq(at[1][1]) and seq(at[1][1]) + n <= tonumber(ARGV[1]) then return {} end
end
return at
)lua"};

// At most about this many bytes of frames per page of a read (and one frame more): a page is
// one command, which the server runs alone, and one reply, which the broker holds whole
// (resp_connection's cap on a reply), so a read of a large range goes in steps.
constexpr std::size_t read_page_bytes = 1u << 20;

// A page of a read after its first: up to ARGV[2] entries of the log from the id ARGV[1] on,
// as XRANGE gives them, but ending with the one whose frame brings theirs to ARGV[3] bytes
// (read_page_bytes). The count alone would not bound the reply: it is guessed from the frames
// before, and a run of small batches followed by large ones would be answered with that many
// large frames. Taken 16 at a time, so the script holds few more frames than it answers.
// Answers {entries, 1 when the log has no more, else 0}.
const lua_script read_page_script{R"lua(
local from, count, budget = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local out, bytes = {}, 0
while #out < count do
  local want = math.min(count - #out, 16)
  local chunk = redis.call('XRANGE', KEYS[1], from, '+', 'COUNT', want)
  for _, e in ipairs(chunk) do
    out[#out + 1] = e
    for j = 1, #e[2], 2 do
      if e[2][j] == 'f' then bytes = bytes + #e[2][j + 1] end
    end
    if bytes >= budget then return {out, 0} end
  end
  if #chunk < want then return {out, 1} end
  from = '(' .. chunk[#chunk][1]
end
return {out, 0}
)lua"};

}  // namespace

expected<std::vector<stored_batch>> redis_store::read(const topic_partition& tp,
                                                      std::int64_t offset,
                                                      std::size_t max_bytes) {
  std::vector<stored_batch> out;
  if (offset < 0) offset = 0;
  const std::string key = log_key(tp);
  // One round trip: the batch at or before `offset` when it contains it, and the batches
  // after. Every batch of a page crosses the wire, frame and all, whether it is returned or
  // not: the first page is small (a reader that wants one batch, or whose batches are large,
  // is sent little more), and the next ones are sized by the frames of the one before.
  std::size_t count = 2;
  std::vector<command> commands(2);
  commands[0].script(entry_at_or_before_script).arg("1").arg(key).own(
      std::to_string(offset + 1));
  commands[1].arg("XRANGE").arg(key).own(entry_id(offset + 1)).arg("+").arg("COUNT").own(
      std::to_string(count));
  std::size_t bytes = 0;
  bool first_round = true;
  for (;;) {
    auto replies = pipeline(commands, pipeline_effect::reads_only);
    if (!replies) return replies.error();
    std::size_t received = 0, page_bytes = 0;
    bool ended = false;
    for (std::size_t k = 0; k < replies->size(); ++k) {
      const auto& r = (*replies)[k];
      if (r.is_error()) {
        logging::storage().warn("reading {}: {}", key, str(r.get()));
        return errc::storage_unavailable;
      }
      if (r->type != REDIS_REPLY_ARRAY) return errc::corrupt_stored_data;
      const bool at_or_before = first_round && k == 0;
      // The first round's answers are entries; a later page is read_page_script's answer.
      const redisReply* entries = r.get();
      if (!first_round) {
        if (r->elements != 2 || r->element[0]->type != REDIS_REPLY_ARRAY ||
            r->element[1]->type != REDIS_REPLY_INTEGER)
          return errc::corrupt_stored_data;
        entries = r->element[0];
        ended = r->element[1]->integer != 0;
      }
      for (std::size_t i = 0; i < entries->elements; ++i) {
        stored_batch b;
        entry_frame frame;
        if (auto ec = parse_header(entries->element[i], b, frame)) {
          logging::storage().error("corrupt entry in {}: {}", key, ec.message());
          return ec;
        }
        if (!at_or_before) {
          ++received;
          page_bytes += frame.size;
        }
        // The header decides first: a frame is checked and copied only when it is returned,
        // so a bad one that is not (past max_bytes, or before the offset) fails no read.
        if (at_or_before && b.next_offset() <= offset) continue;  // ends before the offset
        // The commands are not one atomic step: a compaction that finished between them may
        // have put a rewritten run inside a batch already read. Its records were read.
        if (!out.empty() && b.base_offset < out.back().next_offset()) continue;
        if (!out.empty() && bytes + frame.size > max_bytes) return out;
        if (auto ec = take_frame(frame, b)) {
          logging::storage().error("corrupt entry in {}: {}", key, ec.message());
          return ec;
        }
        bytes += b.frame.size();
        out.push_back(std::move(b));
      }
    }
    if (first_round) ended = received < count;
    if (ended || received == 0 || bytes >= max_bytes || out.empty()) return out;
    // More may follow: continue after the last batch read, with as many batches as are still
    // wanted by the frames of this page, but at most four times this page's count and about
    // read_page_bytes by the frames of this page; the page script ends the page at about
    // read_page_bytes by the frames it meets (those ahead may be larger than these).
    first_round = false;
    const std::size_t average = std::max<std::size_t>(page_bytes / received, 1);
    const std::size_t wanted = (max_bytes - bytes) / average + 1;
    count = std::min({wanted, count * 4, std::max<std::size_t>(read_page_bytes / average, 1)});
    commands.clear();
    commands.emplace_back();
    commands[0].script(read_page_script).arg("1").arg(key).own(entry_id(out.back().next_offset()));
    commands[0].own(std::to_string(count)).own(std::to_string(read_page_bytes));
  }
}

namespace {

// The log start record: the start offset, and the bounds a log whose entries all went keeps
// (next offset, running bytes and timestamp).
struct start_record {
  bool recorded = false;  ///< false: the start never moved (no record)
  std::int64_t log_start = 0;
  std::int64_t next_offset = 0;
  std::uint64_t end_bytes = 0;
  std::int64_t end_timestamp = -1;
};

bool parse_start_record(const redisReply* r, start_record& out) {
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 4) return false;
  std::string_view v[4];
  for (std::size_t i = 0; i < 4; ++i) v[i] = str(r->element[i]);
  if (v[0].empty()) return true;  // no record: nothing was ever deleted
  out.recorded = true;
  return parse_int(v[0], out.log_start) && parse_int(v[1], out.next_offset) &&
         parse_int(v[2], out.end_bytes) && parse_int(v[3], out.end_timestamp);
}

// A partition's bounds as one script, so that they are one snapshot (a deletion or a
// compaction's rename never falls between reading the first entry, the last and the start
// record): the first and last entries' headers (entry_header_lua: bounds need no frame, only
// the first one's size, and a bad frame must not keep a partition from recovering or from
// retention) and the start record. KEYS: log, start record.
const lua_script bounds_script{std::string(entry_header_lua) + R"lua(
local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #first == 1 then header(first[1]) end
if #last == 1 then header(last[1]) end
return {first, last, redis.call('HMGET', KEYS[2], 's', 'n', 'c', 'T')}
)lua"};

// Headers of a page of a log's entries (entry_header_lua), taken one entry at a time so that
// the script holds one frame at a time, and stopped early once it went over about
// header_page_bytes of frames: it runs alone on the server. KEYS: the log. ARGV: XRANGE or
// XREVRANGE, the range's ends in that command's order, at most how many entries, the byte
// budget. Answers {entries, 1 when the range has no more, else 0}.
const lua_script entry_headers_script{std::string(entry_header_lua) + R"lua(
local cmd = ARGV[1] == 'XREVRANGE' and 'XREVRANGE' or 'XRANGE'
local from, count, budget = ARGV[2], tonumber(ARGV[4]), tonumber(ARGV[5])
local out, bytes = {}, 0
while #out < count and bytes < budget do
  local one = redis.call(cmd, KEYS[1], from, ARGV[3], 'COUNT', 1)
  if #one == 0 then return {out, 1} end
  local e, size = header(one[1])
  out[#out + 1] = e
  bytes = bytes + size
  from = '(' .. e[1]
end
return {out, 0}
)lua"};

constexpr std::size_t header_page_bytes = 8u << 20;

}  // namespace

expected<std::vector<stored_batch>> redis_store::entry_headers(const std::string& key, bool reverse,
                                                               std::string_view from,
                                                               std::string_view to,
                                                               std::size_t count, bool& ended) {
  ended = false;
  command c;
  c.script(entry_headers_script).arg("1").arg(key).arg(reverse ? "XREVRANGE" : "XRANGE");
  c.arg(from).arg(to).own(std::to_string(count)).own(std::to_string(header_page_bytes));
  auto r = pipeline({&c, 1});
  if (!r) return r.error();
  const auto& rep = (*r)[0];
  if (rep.is_error()) {
    logging::storage().warn("reading entry headers of {}: {}", key, str(rep.get()));
    return errc::storage_unavailable;
  }
  if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
      rep->element[0]->type != REDIS_REPLY_ARRAY || rep->element[1]->type != REDIS_REPLY_INTEGER)
    return errc::corrupt_stored_data;
  const redisReply* page = rep->element[0];
  ended = rep->element[1]->integer != 0;
  std::vector<stored_batch> out(page->elements);
  for (std::size_t i = 0; i < page->elements; ++i) {
    entry_frame frame;
    if (parse_header(page->element[i], out[i], frame)) {
      logging::storage().error("corrupt entry header in {}", key);
      return errc::corrupt_stored_data;
    }
  }
  return out;
}

expected<partition_bounds> redis_store::bounds(const topic_partition& tp) {
  command c;
  c.script(bounds_script).arg("2").own(log_key(tp)).own(start_key(tp));
  auto replies = pipeline({&c, 1});
  if (!replies) return replies.error();
  const auto& rep = (*replies)[0];
  if (rep.is_error()) {
    logging::storage().warn("reading the bounds of {}: {}", log_key(tp), str(rep.get()));
    return errc::storage_unavailable;
  }
  if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 3) return errc::corrupt_stored_data;
  const redisReply* f = rep->element[0];
  const redisReply* l = rep->element[1];
  if (f->type != REDIS_REPLY_ARRAY || l->type != REDIS_REPLY_ARRAY) return errc::corrupt_stored_data;
  partition_bounds b;
  start_record start;
  if (!parse_start_record(rep->element[2], start)) {
    logging::storage().error("corrupt log start record {}", start_key(tp));
    return errc::corrupt_stored_data;
  }
  if (f->elements == 0 || l->elements == 0) {
    // Empty: never written, or every batch deleted (the record keeps where it ended).
    b.log_start = b.next_offset = start.next_offset;
    b.start_bytes = b.end_bytes = start.end_bytes;
    b.end_timestamp = start.end_timestamp;
    return b;
  }
  stored_batch first, last;
  entry_frame first_frame, last_frame;
  if (auto ec = parse_header(f->element[0], first, first_frame)) return ec;
  if (auto ec = parse_header(l->element[0], last, last_frame)) return ec;
  // The recorded start, which may lie inside the first batch (DeleteRecords) or before it
  // (a compaction removed the records there).
  b.log_start = start.recorded ? start.log_start : first.base_offset;
  b.next_offset = last.next_offset();
  // stored_batch::start_bytes, with the frame's size the script gave.
  b.start_bytes = first.end_bytes >= first_frame.size ? first.end_bytes - first_frame.size : 0;
  b.end_bytes = last.end_bytes;
  b.end_timestamp = last.end_timestamp;
  return b;
}

expected<std::int64_t> redis_store::retention_point(const topic_partition& tp,
                                                    const retention_limits& limits) {
  auto b = bounds(tp);
  if (!b) return b.error();
  const std::string key = log_key(tp);
  // The entry at or after `offset` (its header and totals only); nothing past the last one.
  auto probe = [&](std::int64_t offset) -> expected<std::optional<stored_batch>> {
    bool none_after = false;
    auto one = entry_headers(key, false, entry_id(offset), "+", 1, none_after);
    if (!one) return one.error();
    if (one->empty()) return std::optional<stored_batch>{};
    return std::optional<stored_batch>{std::move(one->front())};
  };
  // The first entry first: when it stays, so does everything (one probe per partition and
  // pass, for the partitions with nothing due, which are most).
  auto first = probe(0);
  if (!first) return first.error();
  if (!*first) return b->log_start;
  const bool first_old = limits.older_than_ms >= 0 && (*first)->max_timestamp < limits.older_than_ms;
  if (!first_old && !limits.removes(**first, b->end_bytes)) return b->log_start;
  // Binary search for the first entry retention keeps: the running totals never decrease
  // along the log, so "removed" holds for a prefix of it. About log2(next offset) probes.
  // The search starts at 0, not at the log start: that may lie inside the first entry.
  std::int64_t lo = 0, hi = b->next_offset;
  while (lo < hi) {
    const auto mid = lo + (hi - lo) / 2;
    auto e = probe(mid);
    if (!e) return e.error();
    if (!*e || (*e)->base_offset >= hi) {
      hi = mid;  // nothing stored in [mid, hi): the answer is below mid, or hi itself
    } else if (limits.removes(**e, b->end_bytes)) {
      lo = (*e)->next_offset();
    } else {
      hi = (*e)->base_offset;
    }
  }
  auto point = std::max(lo, b->log_start);
  // The running maximum timestamp also counts batches deleted since: one stamped far ahead,
  // once deleted, would keep every later batch from the time limit for ever. When the first
  // stored batch is itself old enough but its running maximum is not, the time limit is
  // decided by the batches' own timestamps, read a page at a time from the first on (Kafka
  // decides by each segment's own newest record). Only that case reads more headers than the
  // search's, and, as the search, no frames.
  if (!first_old || (*first)->end_timestamp < limits.older_than_ms) return point;
  // Within the log as it was when this began, and a bounded number of pages per pass (the
  // rest goes at the next).
  std::int64_t newest = -1, from = (*first)->base_offset, by_time = from;
  int pages = 0;
  constexpr std::size_t page = 64;
  for (bool more = true; more && from < b->next_offset && pages < 256; ++pages) {
    bool ended = false;
    auto entries = entry_headers(key, false, entry_id(from), "+", page, ended);
    if (!entries) return entries.error();
    more = !ended && !entries->empty();
    for (const auto& e : *entries) {
      newest = std::max(newest, e.max_timestamp);
      if (newest >= limits.older_than_ms || e.next_offset() > b->next_offset) {
        more = false;
        break;
      }
      by_time = from = e.next_offset();
    }
  }
  return std::max(point, by_time);
}

namespace {

// A deletion (log_store::delete_records) as one script, so that nothing comes between its
// steps: with a fence, the partition's lease is checked first; then the bounds are read as
// bounds() reads them (an entry from before the running totals: no bytes, its own
// timestamp), the log is trimmed and the start record written with them. (Apart, a node
// paused after reading the bounds would record a next offset from before its successor's
// appends, which an emptied log then hands out again.) The trim comes first: a script is not
// undone when a command in it fails, and a start recorded before a trim the server refused
// (one without XTRIM MINID) would leave the data stored behind a start that no longer moves
// (every retry: KEPT). The entry containing the new start stays: the trim is below its id,
// or the start's when none contains it (none can when the first entry lies past the start:
// that search, which would walk the whole stream back, is skipped then). Numbers go back as
// '%d' strings: Lua 5.1 writes one of 15 digits or more as 1e+14.
// KEYS: log, start record, lease. ARGV: fence ("" none), the offset. Answers OK, KEPT
// (nothing to delete: the start is there already), FENCED or CORRUPT.
const lua_script delete_records_script{R"lua(
local log, start, lease = KEYS[1], KEYS[2], KEYS[3]
if ARGV[1] ~= '' and redis.call('GET', lease) ~= ARGV[1] then return 'FENCED' end
local function base(e) return tonumber(string.match(e[1], '^0%-(%d+)$') or '0') - 1 end
local function field(e, name)
  for j = 1, #e[2], 2 do
    if e[2][j] == name then return e[2][j + 1] end
  end
end
local first = redis.call('XRANGE', log, '-', '+', 'COUNT', 1)
if #first == 0 then return 'KEPT' end
local last = redis.call('XREVRANGE', log, '+', '-', 'COUNT', 1)
local count = tonumber(field(last[1], 'n') or '')
if count == nil or base(first[1]) < 0 or base(last[1]) < 0 then return 'CORRUPT' end
local next_offset = base(last[1]) + count
local log_start = base(first[1])
local recorded = redis.call('HGET', start, 's')
if recorded then
  log_start = tonumber(recorded)
  if log_start == nil then return 'CORRUPT' end
end
local offset = math.min(tonumber(ARGV[2]), next_offset)
if offset <= log_start then return 'KEPT' end
local min_id = string.format('0-%d', offset + 1)
if base(first[1]) <= offset then
  local at = redis.call('XREVRANGE', log, string.format('0-%d', offset + 1), '-', 'COUNT', 1)
  if #at == 1 and base(at[1]) + (tonumber(field(at[1], 'n') or '') or 0) > offset then
    min_id = at[1][1]
  end
end
redis.call('XTRIM', log, 'MINID', min_id)
redis.call('HSET', start, 's', string.format('%d', offset), 'n', string.format('%d', next_offset),
           'c', field(last[1], 'c') or '0', 'T', field(last[1], 'T') or field(last[1], 't') or '0')
return 'OK'
)lua"};

}  // namespace

expected<partition_bounds> redis_store::delete_records(const topic_partition& tp, std::int64_t offset,
                                                       const std::string& fence) {
  command c;
  c.script(delete_records_script).arg("3");
  c.own(log_key(tp)).own(start_key(tp)).own(lease_key(partition_lease(tp)));
  c.arg(fence).own(std::to_string(offset));
  auto r = pipeline({&c, 1});
  if (!r) return r.error();
  const auto& out = (*r)[0];
  const bool text = out->type == REDIS_REPLY_STATUS || out->type == REDIS_REPLY_STRING;
  const auto status = text ? str(out.get()) : std::string_view{};
  if (status == "FENCED") return errc::not_leader;
  if (status == "CORRUPT") {
    logging::storage().error("corrupt log or log start record of {}", log_key(tp));
    return errc::corrupt_stored_data;
  }
  if (status != "OK" && status != "KEPT") {
    logging::storage().warn("store refused deleting {} below {}: {}", log_key(tp), offset,
                            out.is_error() ? str(out.get()) : "no script result");
    return errc::storage_unavailable;
  }
  return bounds(tp);
}

namespace {

// A compaction (log_store::compact) in bounded steps. A stream cannot take an entry below
// its last one, so the log is built anew under KEYS[2] (the partition's hash tag) and renamed
// over KEYS[1]. Each step is one script (a script runs alone on the server): the first ones
// add a slice of the range's batches each; then the entries appended after the range (from
// `end` on) are copied a page per step; the step that copies the last of them records the
// start and renames, so readers see the old log or the new one, never a mix. Between steps
// the server serves everyone else, so a large partition's compaction never stalls the store
// for longer than one slice or page. Every step checks first that the log is still the one
// planned (its first entry, the range's last batch, something after the range) and, after
// the first step, that the new log is still this compaction's (the token its first step put
// in the start record's field k) and holds what the steps before put there (its length):
// appends in between land after the range and are copied in turn; a deletion in between
// makes the step answer CHANGED, and the plan is made again. So does another compaction of
// the partition started in between (one whose reader gave up waiting, or restarted, while
// this one's worker ran on): its first step takes the new log over, and this one stops
// without touching it, whose length alone could match by chance (steps of one size). A
// topic deleted in between took the token with its start record. The first step takes the
// new log over before its checks, so one left behind (a compaction that crashed, or lost the
// partition's lease, midway) goes even when that step answers CHANGED or EMPTIES.
// KEYS: log, the new log, start record, lease. ARGV: fence ("" none), the planned first
// entry's id, the id of `end`, `end` itself, the running bytes of the range's last batch, the
// start record's four values, the entries the new log holds before this step (0: the first
// step, which starts it empty), where to copy the log's entries after the range from ("":
// not in this step; an id, or "(" and the last id copied), at most how many of them and how
// many bytes of frames (0: all, and finish), the compaction's token, then per batch 'k'
// (kept: id, record count, its new running bytes) or 'w' (written: id, field count, fields).
// Answers ADDED (batches added), {MORE, last id copied, entries copied} (a page of the
// entries after the range copied, more to come) or OK (done), or why not: FENCED, CHANGED,
// EMPTIES.
const lua_script compact_script{R"lua(
local log, fresh, start, lease = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
if ARGV[1] ~= '' and redis.call('GET', lease) ~= ARGV[1] then return 'FENCED' end
local built, token = tonumber(ARGV[10]), ARGV[14]
-- A new log dropped may be as large as the partition: UNLINK frees it off the main thread.
if built == 0 then
  -- The partition's compaction is this one from now on, whatever its checks find: what an
  -- earlier one built or left (it crashed, or lost the lease) goes, and one still running
  -- stops at its next step, its token replaced.
  redis.call('UNLINK', fresh)
  redis.call('HSET', start, 'k', token)
elseif redis.call('HGET', start, 'k') ~= token then
  return 'CHANGED'  -- the new log is another compaction's now, and only that one drops it
end
local function drop()
  redis.call('UNLINK', fresh)
  redis.call('HDEL', start, 'k')
end
local function changed()
  drop()
  return 'CHANGED'
end
local first = redis.call('XRANGE', log, '-', '+', 'COUNT', 1)
if #first == 0 or first[1][1] ~= ARGV[2] then return changed() end
-- the range's last batch still ends at `end` with the running bytes planned
local last = redis.call('XREVRANGE', log, '(' .. ARGV[3], '-', 'COUNT', 1)
if #last == 0 then return changed() end
local n, c
local f = last[1][2]
for j = 1, #f, 2 do
  if f[j] == 'n' then n = tonumber(f[j + 1]) elseif f[j] == 'c' then c = f[j + 1] end
end
c = c or '0'  -- an entry from before running totals
local base = tonumber(string.match(last[1][1], '%-(%d+)$')) - 1
if n == nil or base + n ~= tonumber(ARGV[4]) or c ~= ARGV[5] then return changed() end
if #redis.call('XRANGE', log, ARGV[3], '+', 'COUNT', 1) == 0 then
  drop()
  return 'EMPTIES'
end
if built > 0 and redis.call('XLEN', fresh) ~= built then return changed() end
local a = 15
while a <= #ARGV do
  local id = ARGV[a + 1]
  if ARGV[a] == 'k' then
    local e = redis.call('XRANGE', log, id, id)
    local f = #e == 1 and e[1][2] or {}
    local count, totals = nil, false
    for j = 1, #f, 2 do
      if f[j] == 'n' then count = f[j + 1] end
      if f[j] == 'c' then
        f[j + 1] = ARGV[a + 3]
        totals = true
      end
    end
    if count ~= ARGV[a + 2] then return changed() end
    if not totals then
      f[#f + 1] = 'c'
      f[#f + 1] = ARGV[a + 3]
    end
    redis.call('XADD', fresh, id, unpack(f))
    a = a + 4
  else
    local n = tonumber(ARGV[a + 2])
    redis.call('XADD', fresh, id, unpack(ARGV, a + 3, a + 2 + n))
    a = a + 3 + n
  end
end
if ARGV[11] == '' then return 'ADDED' end
local from, entries, bytes = ARGV[11], tonumber(ARGV[12]), tonumber(ARGV[13])
local copied, size, more = 0, 0, false
while true do
  local want = entries == 0 and 64 or math.min(64, entries - copied)
  local page = redis.call('XRANGE', log, from, '+', 'COUNT', want)
  for _, e in ipairs(page) do
    redis.call('XADD', fresh, e[1], unpack(e[2]))
    copied = copied + 1
    for j = 1, #e[2], 2 do
      if e[2][j] == 'f' then size = size + #e[2][j + 1] end
    end
    if entries > 0 and (copied >= entries or size >= bytes) then
      more = true
      break
    end
  end
  if more or #page < want then break end
  from = '(' .. page[#page][1]
end
if more then
  local top = redis.call('XREVRANGE', fresh, '+', '-', 'COUNT', 1)
  return {'MORE', top[1][1], copied}
end
local s = ARGV[6]
local recorded = redis.call('HGET', start, 's')
if recorded and tonumber(recorded) > tonumber(s) then s = recorded end
redis.call('HSET', start, 's', s, 'n', ARGV[7], 'c', ARGV[8], 'T', ARGV[9])
redis.call('HDEL', start, 'k')
-- UNLINK frees the old log off the server's main thread (RENAME over it would free it here).
redis.call('UNLINK', log)
if redis.call('EXISTS', fresh) == 1 then redis.call('RENAME', fresh, log) end
return 'OK'
)lua"};

// After this many pages of entries appended since the plan, the next step copies all that is
// left and finishes: producers faster than the copy would otherwise keep it going forever.
constexpr int max_tail_steps = 64;

}  // namespace

namespace {

// A batch's size in the log a compaction builds: a batch written anew has its frame; a kept
// one (whose frame the plan leaves out) its running bytes less the batch's before, which are
// counted again in the plan; the first batch, when kept, counts nothing (its start is not in
// the plan).
std::uint64_t new_log_size(const log_compaction& c, std::size_t i) {
  const auto& b = c.batches[i];
  if (b.rewritten) return b.batch.frame.size();
  if (i == 0 || b.batch.end_bytes < c.batches[i - 1].batch.end_bytes) return 0;
  return b.batch.end_bytes - c.batches[i - 1].batch.end_bytes;
}

}  // namespace

std::vector<std::size_t> compaction_steps(const log_compaction& c, std::size_t max_entries,
                                          std::uint64_t max_bytes) {
  std::vector<std::size_t> ends;
  std::size_t entries = 0;
  std::uint64_t bytes = 0;
  for (std::size_t i = 0; i < c.batches.size(); ++i) {
    const auto size = new_log_size(c, i);
    if (entries > 0 && (entries + 1 > max_entries || bytes + size > max_bytes)) {
      ends.push_back(i);
      entries = 0;
      bytes = 0;
    }
    ++entries;
    bytes += size;
  }
  ends.push_back(c.batches.size());
  return ends;
}

expected<partition_bounds> redis_store::compact(const topic_partition& tp, const log_compaction& c) {
  for (const auto& b : c.batches)
    if (b.batch.base_offset < c.first_base || b.batch.next_offset() > c.end)
      return errc::invalid_request;
  auto before = bounds(tp);
  if (!before) return before.error();
  // Tells this compaction's steps apart from those of any other of the partition.
  const auto token = to_string(new_topic_id());
  if (auto ec = run_compaction(tp, c, *before, token)) {
    // A step that failed for another reason than the log's (CHANGED and EMPTIES drop the new
    // log themselves; FENCED leaves it to the lease's new holder, whose next compaction's
    // first step drops it): a lost connection, or a script the server refused midway (out of
    // memory), may have left the new log behind.
    // After a timeout this is a second call, which may take up to the store timeout again.
    if (ec != errc::not_leader && ec != errc::offset_conflict && ec != errc::invalid_request)
      drop_compacting(tp, c.fence, token);
    return ec;
  }
  return bounds(tp);
}

namespace {

// Drops a compaction's new log while the partition's lease is still the one given ("" none)
// and the new log is still the compaction's (its token in the start record: another may
// have taken it over). KEYS: the new log, lease, start record. ARGV: fence, token.
const lua_script drop_compacting_script{R"lua(
if ARGV[1] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
if redis.call('HGET', KEYS[3], 'k') ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[3], 'k')
return redis.call('UNLINK', KEYS[1])
)lua"};

}  // namespace

void redis_store::drop_compacting(const topic_partition& tp, const std::string& fence,
                                  const std::string& token) {
  command cmd;
  cmd.script(drop_compacting_script).arg("3");
  cmd.own(compacting_key(tp)).own(lease_key(partition_lease(tp))).own(start_key(tp));
  cmd.arg(fence).arg(token);
  auto r = pipeline({&cmd, 1});
  if (!r || (*r)[0].is_error())
    logging::storage().warn("{} left behind after a failed compaction: {}", compacting_key(tp),
                            r ? str((*r)[0].get()) : r.error().message());
}

std::error_code redis_store::run_compaction(const topic_partition& tp, const log_compaction& c,
                                            const partition_bounds& before,
                                            const std::string& token) {
  const auto steps = compaction_steps(c, options_.compaction_step_entries,
                                      options_.compaction_step_bytes);
  std::size_t from = 0, step = 0, built = 0;
  // Where the next step copies the entries after the range from ("": none in this step).
  std::string tail_from;
  for (int tail_steps = 0;; ++step) {
    const bool batches = step < steps.size();
    const auto to = batches ? steps[step] : from;
    // The step of the range's last slice copies entries after it too, within what its slice
    // left of the step's bounds.
    std::uint64_t slice_bytes = 0;
    for (std::size_t i = from; i < to; ++i) slice_bytes += new_log_size(c, i);
    const auto step_bytes = std::max<std::uint64_t>(options_.compaction_step_bytes, 1);
    const std::uint64_t bytes_left = step_bytes > slice_bytes ? step_bytes - slice_bytes : 0;
    const std::size_t room = options_.compaction_step_entries > to - from && bytes_left > 0
                                 ? options_.compaction_step_entries - (to - from)
                                 : 0;
    if (!batches || (to == c.batches.size() && room > 0)) {
      if (tail_from.empty()) tail_from = entry_id(c.end);
      else ++tail_steps;
    }
    command cmd;
    cmd.script(compact_script).arg("4");
    cmd.own(log_key(tp)).own(compacting_key(tp)).own(start_key(tp)).own(lease_key(partition_lease(tp)));
    cmd.arg(c.fence).own(entry_id(c.first_base)).own(entry_id(c.end)).own(std::to_string(c.end));
    cmd.own(std::to_string(c.end_bytes));
    // The start stays where it was (see log_compaction); the rest of the record as
    // delete_records keeps it.
    cmd.own(std::to_string(before.log_start))
        .own(std::to_string(before.next_offset))
        .own(std::to_string(before.end_bytes))
        .own(std::to_string(before.end_timestamp));
    const bool finish = tail_steps >= max_tail_steps;
    cmd.own(std::to_string(built)).arg(tail_from);
    cmd.own(std::to_string(finish ? 0 : batches ? room : options_.compaction_step_entries));
    cmd.own(std::to_string(batches ? bytes_left : step_bytes));
    cmd.arg(token);
    for (std::size_t i = from; i < to; ++i) {
      const auto& b = c.batches[i];
      if (!b.rewritten) {
        cmd.arg("k")
            .own(entry_id(b.batch.base_offset))
            .own(std::to_string(b.batch.record_count))
            .own(std::to_string(b.batch.end_bytes));
        continue;
      }
      append_request r;
      r.tp = &tp;
      r.base_offset = b.batch.base_offset;
      r.record_count = b.batch.record_count;
      r.max_timestamp = b.batch.max_timestamp;
      r.frame = b.batch.frame;
      r.producer = b.batch.producer;
      r.end_bytes = b.batch.end_bytes;
      r.end_timestamp = b.batch.end_timestamp;
      cmd.arg("w").own(entry_id(r.base_offset)).own(std::to_string(entry_field_args(r)));
      add_entry_fields(cmd, r);
    }
    auto replies = pipeline({&cmd, 1});
    if (!replies) return replies.error();
    const auto& out = (*replies)[0];
    if (out->type == REDIS_REPLY_ARRAY && out->elements == 3 && str(out->element[0]) == "MORE" &&
        out->element[2]->type == REDIS_REPLY_INTEGER && out->element[2]->integer > 0) {
      // A page of the entries after the range copied; the next step goes on after it.
      built += (to - from) + static_cast<std::size_t>(out->element[2]->integer);
      tail_from = "(" + std::string(str(out->element[1]));
    } else {
      const bool text = out->type == REDIS_REPLY_STATUS || out->type == REDIS_REPLY_STRING;
      const auto status = text ? str(out.get()) : std::string_view{};
      if (status == "FENCED") return errc::not_leader;
      if (status == "CHANGED") return errc::offset_conflict;
      if (status == "EMPTIES") return errc::invalid_request;
      if (status == "OK") return {};
      if (status != "ADDED") {
        logging::storage().warn("store refused compacting {}: {}", log_key(tp),
                                 out.is_error() ? str(out.get()) : "no script result");
        return errc::storage_unavailable;
      }
      built += to - from;
    }
    from = to;
    if (options_.between_compaction_steps) options_.between_compaction_steps(step + 1);
  }
}

std::error_code redis_store::create_topic(const topic_info& topic) {
  command c;
  c.arg("HSETNX").own(options_.key_prefix + ":topics").arg(topic.name).own(encode_topic(topic));
  auto r = pipeline({&c, 1});
  if (!r) return r.error();
  const auto& rep = (*r)[0];
  if (rep.is_error() || rep->type != REDIS_REPLY_INTEGER) return errc::storage_unavailable;
  return rep->integer == 1 ? std::error_code{} : make_error_code(errc::topic_already_exists);
}

// Lua: splits a stored topic record (encode_topic's layout) into its id and the rest. A
// record from before topics had ids ends after its configs; its id is `legacy`, the one made
// from the name.
constexpr std::string_view split_topic_lua = R"lua(
local function split_topic(cur, legacy)
  local function uvarint(i)
    local v, scale = 0, 1
    while true do
      local b = string.byte(cur, i)
      v = v + (b % 128) * scale
      i = i + 1
      if b < 128 then return v, i end
      scale = scale * 128
    end
  end
  local _, i = uvarint(1)  -- the partition count
  local n
  n, i = uvarint(i)
  for _ = 1, 2 * n do  -- the configs' keys and values
    local len
    len, i = uvarint(i)
    i = i + len
  end
  local id = string.sub(cur, i)
  if id == '' then id = legacy end
  return id, string.sub(cur, 1, i - 1)
end
)lua";

namespace {

// What a topic script answered: OK, CHANGED or GONE.
expected<topic_write> script_outcome(const redis_store::reply& rep, std::string_view what,
                                     const std::string& topic) {
  if (rep.is_error() || rep->type != REDIS_REPLY_STRING) {
    logging::storage().warn("store refused {} topic '{}': {}", what, topic,
                            rep.is_error() ? str(rep.get()) : "no script result");
    return errc::storage_unavailable;
  }
  const auto outcome = str(rep.get());
  if (outcome == "OK") return topic_write::done;
  return outcome == "CHANGED" ? topic_write::changed : topic_write::gone;
}

// A changed topic record, stored only while the stored one is the record the change was made
// from. KEYS: the topics hash; ARGV: the name, the expected id, the id made from the name,
// the old record without its id, the new record.
const lua_script update_topic_script{std::string(split_topic_lua) + R"lua(
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return 'GONE' end
local id, rest = split_topic(cur, ARGV[3])
if id ~= ARGV[2] then return 'GONE' end
if rest ~= ARGV[4] then return 'CHANGED' end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[5])
return 'OK'
)lua"};

// A topic's deletion, only while the stored record is the one given (a grown topic has more
// logs than the caller would name). KEYS: the topics hash, then every key of the topic's
// partitions; ARGV: the name, the expected id, the id made from the name, the record without
// its id. UNLINK frees the logs' memory off the server's main thread.
const lua_script delete_topic_script{std::string(split_topic_lua) + R"lua(
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local id, rest = split_topic(cur, ARGV[3])
  if id ~= ARGV[2] then return 'GONE' end
  if rest ~= ARGV[4] then return 'CHANGED' end
  redis.call('HDEL', KEYS[1], ARGV[1])
end
for i = 2, #KEYS do redis.call('UNLINK', KEYS[i]) end
return 'OK'
)lua"};

}  // namespace

expected<topic_write> redis_store::update_topic(const topic_info& before, const topic_info& after) {
  command c;
  c.script(update_topic_script).arg("1").own(options_.key_prefix + ":topics").arg(before.name);
  c.own(id_bytes(before.id)).own(id_bytes(topic_id_from_name(before.name)));
  c.own(encode_topic(before, false)).own(encode_topic(after));
  auto r = pipeline({&c, 1});
  if (!r) return r.error();
  return script_outcome((*r)[0], "updating", before.name);
}

expected<topic_write> redis_store::delete_topic(const topic_info& topic) {
  command c;
  c.script(delete_topic_script).own(std::to_string(1 + 6 * std::int64_t{topic.partitions}));
  c.own(options_.key_prefix + ":topics");
  for (std::int32_t p = 0; p < topic.partitions; ++p) {
    c.own(log_key({topic.name, p})).own(producers_key({topic.name, p})).own(start_key({topic.name, p}));
    // A cluster node that owned a partition may never append to it again (its epoch key
    // stays: a topic created again under this name gets new, higher epochs). Its last holder
    // goes with it, as on a release: the first holder of a topic created again under the
    // name takes nothing over (lease_round).
    const auto lease = lease_key(partition_lease({topic.name, p}));
    c.own(lease).own(lease + ":last");
    // What a compaction that did not finish (its connection lost between steps) left.
    c.own(compacting_key({topic.name, p}));
  }
  c.arg(topic.name).own(id_bytes(topic.id)).own(id_bytes(topic_id_from_name(topic.name)));
  c.own(encode_topic(topic, false));
  auto r = pipeline({&c, 1});
  if (!r) return r.error();
  return script_outcome((*r)[0], "deleting", topic.name);
}

expected<std::vector<topic_info>> redis_store::list_topics() {
  command c;
  c.arg("HGETALL").own(options_.key_prefix + ":topics");
  auto r = pipeline({&c, 1});
  if (!r) return r.error();
  const auto& rep = (*r)[0];
  if (rep.is_error() || rep->type != REDIS_REPLY_ARRAY) return errc::storage_unavailable;
  std::vector<topic_info> out;
  for (std::size_t i = 0; i + 1 < rep->elements; i += 2) {
    topic_info t;
    if (!decode_topic(str(rep->element[i]), str(rep->element[i + 1]), t)) {
      logging::storage().error("skipping unreadable topic record '{}'", str(rep->element[i]));
      continue;
    }
    out.push_back(std::move(t));
  }
  return out;
}

// A commit, in one atomic step: in a cluster only while the group's lease is still the one
// its coordinator acts under. A commit that creates the group's offsets starts the group
// without metadata: a record a deletion left behind (an older node's, whose script knows no
// metadata, or whose unfenced deletion ran in separate steps) is not the new group's. KEYS:
// offsets hash, groups set, metadata, and in a cluster the lease; ARGV: the fence ("" on a
// single node), the group id, then field/value pairs.
const lua_script commit_script{R"lua(
if #KEYS == 4 and redis.call('GET', KEYS[4]) ~= ARGV[1] then return 'FENCED' end
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('DEL', KEYS[3]) end
for i = 3, #ARGV, 1000 do  -- field/value pairs, in chunks within Lua's unpack limit
  redis.call('HSET', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
redis.call('SADD', KEYS[2], ARGV[2])
return 'OK'
)lua"};

std::error_code redis_store::commit_offsets(const std::string& group, std::span<const group_offset> offsets,
                                            const std::string& fence) {
  if (offsets.empty()) return {};
  command c;
  c.script(commit_script).arg(fence.empty() ? "3" : "4").own(offsets_key(group));
  c.own(options_.key_prefix + ":groups").own(group_metadata_key(group));
  if (!fence.empty()) c.own(lease_key(group_lease(group)));
  c.own(fence).own(group);
  for (const auto& o : offsets) c.own(offset_field(o.tp)).own(encode_committed(o.offset));
  auto r = pipeline({&c, 1});
  if (!r) return r.error();
  const auto& rep = (*r)[0];
  if (rep.is_error()) return make_error_code(errc::storage_unavailable);
  if (str(rep.get()) == "FENCED") return make_error_code(errc::not_coordinator);
  return {};
}

expected<redis_store::reply> redis_store::hash_fields(const std::string& key) {
  command c;
  c.arg("HGETALL").own(key);
  auto r = pipeline({&c, 1});
  if (!r) return r.error();
  auto rep = std::move((*r)[0]);
  if (rep.is_error()) return errc::storage_unavailable;
  if (rep->type != REDIS_REPLY_ARRAY || rep->elements % 2 != 0) return errc::corrupt_stored_data;
  return rep;
}

expected<std::vector<group_offset>> redis_store::fetch_offsets(const std::string& group) {
  auto fields = hash_fields(offsets_key(group));
  if (!fields) return fields.error();
  const auto& rep = *fields;
  std::vector<group_offset> out;
  for (std::size_t i = 0; i + 1 < rep->elements; i += 2) {
    const auto field = str(rep->element[i]);
    const auto colon = field.rfind(':');
    group_offset o;
    o.tp.topic = std::string(field.substr(0, colon == std::string_view::npos ? 0 : colon));
    const auto part = field.substr(colon == std::string_view::npos ? field.size() : colon + 1);
    const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), o.tp.partition);
    if (colon == std::string_view::npos || ec != std::errc{} || end != part.data() + part.size() ||
        !decode_committed(str(rep->element[i + 1]), o.offset)) {
      logging::storage().error("corrupt committed offset '{}' of group '{}'", field, group);
      return errc::corrupt_stored_data;
    }
    out.push_back(std::move(o));
  }
  return out;
}

// A deletion of offsets, in one atomic step: in a cluster only while the group's lease is
// still the one its coordinator acts under, as the commit; and the group leaves the set, its
// metadata removed, in the same step when no offset is left. Unfenced too (a single node, or a
// deleted topic's cleanup of a group another node coordinates): in steps, a commit landing
// between the check for offsets left and the removal would have its group taken out of the
// set and the metadata its coordinator writes after it deleted. KEYS: offsets hash, groups
// set, metadata, and in a cluster the lease; ARGV: the fence ("" unfenced), the group id, then
// the fields to delete (none: the whole group).
const lua_script delete_offsets_script{R"lua(
if #KEYS == 4 and redis.call('GET', KEYS[4]) ~= ARGV[1] then return 'FENCED' end
if #ARGV == 2 then
  redis.call('DEL', KEYS[1])
else
  for i = 3, #ARGV, 1000 do  -- in chunks within Lua's unpack limit
    redis.call('HDEL', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
  end
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('SREM', KEYS[2], ARGV[2])
  redis.call('DEL', KEYS[3])
end
return 'OK'
)lua"};

std::error_code redis_store::delete_offsets(const std::string& group,
                                            std::span<const topic_partition> partitions,
                                            const std::string& fence) {
  command c;
  c.script(delete_offsets_script).arg(fence.empty() ? "3" : "4").own(offsets_key(group));
  c.own(options_.key_prefix + ":groups").own(group_metadata_key(group));
  if (!fence.empty()) c.own(lease_key(group_lease(group)));
  c.own(fence).own(group);
  for (const auto& tp : partitions) c.own(offset_field(tp));
  auto r = pipeline({&c, 1});
  if (!r) return r.error();
  const auto& rep = (*r)[0];
  if (rep.is_error()) return make_error_code(errc::storage_unavailable);
  if (str(rep.get()) == "FENCED") return make_error_code(errc::not_coordinator);
  return {};
}

expected<std::vector<std::string>> redis_store::list_groups() {
  command c;
  c.arg("SMEMBERS").own(options_.key_prefix + ":groups");
  auto r = pipeline({&c, 1});
  if (!r) return r.error();
  const auto& rep = (*r)[0];
  if (rep.is_error()) return errc::storage_unavailable;
  if (rep->type != REDIS_REPLY_ARRAY) return errc::corrupt_stored_data;
  std::vector<std::string> out;
  for (std::size_t i = 0; i < rep->elements; ++i) out.emplace_back(str(rep->element[i]));
  return out;
}

// log_store::commit_group_metadata: stored only while the group has offsets (else removed),
// and in a cluster only under the group's lease, in one step. KEYS: offsets hash, metadata,
// and in a cluster the lease; ARGV: the metadata, and in a cluster the fence.
const lua_script commit_group_metadata_script{R"lua(
if #KEYS == 3 and redis.call('GET', KEYS[3]) ~= ARGV[2] then return 'FENCED' end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[2])
  return 'NONE'
end
redis.call('SET', KEYS[2], ARGV[1])
return 'OK'
)lua"};

expected<bool> redis_store::commit_group_metadata(const std::string& group, const group_metadata& metadata,
                                                  const std::string& fence) {
  command c;
  c.script(commit_group_metadata_script).arg(fence.empty() ? "2" : "3");
  c.own(offsets_key(group)).own(group_metadata_key(group));
  if (!fence.empty()) c.own(lease_key(group_lease(group)));
  c.own(encode_group_metadata(metadata));
  if (!fence.empty()) c.own(fence);
  auto r = pipeline({&c, 1});
  if (!r) return r.error();
  const auto& rep = (*r)[0];
  if (rep.is_error()) return errc::storage_unavailable;
  const auto outcome = str(rep.get());
  if (outcome == "FENCED") return errc::not_coordinator;
  if (outcome == "NONE") return false;
  if (outcome == "OK") return true;
  return errc::storage_unavailable;
}

expected<group_metadata> redis_store::fetch_group_metadata(const std::string& group) {
  command c;
  c.arg("GET").own(group_metadata_key(group));
  auto r = pipeline({&c, 1}, pipeline_effect::reads_only);
  if (!r) return r.error();
  const auto& rep = (*r)[0];
  if (rep.is_error()) return errc::storage_unavailable;
  bool unreadable = false;
  auto m = group_metadata_of(rep.get(), unreadable);
  if (unreadable) note_unreadable_metadata(1, group);
  return m;
}

expected<std::vector<group_listing>> redis_store::list_group_metadata() {
  auto groups = list_groups();
  if (!groups) return groups.error();
  std::vector<group_listing> out;
  out.reserve(groups->size());
  // A GET per group, pipelined a thousand at a time: one reply holds little either way.
  constexpr std::size_t per_round_trip = 1000;
  std::size_t unreadable_count = 0;
  const std::string* an_unreadable = nullptr;
  for (std::size_t first = 0; first < groups->size(); first += per_round_trip) {
    const auto last = std::min(groups->size(), first + per_round_trip);
    std::vector<command> gets(last - first);
    for (std::size_t i = first; i < last; ++i)
      gets[i - first].arg("GET").own(group_metadata_key((*groups)[i]));
    auto r = pipeline(gets, pipeline_effect::reads_only);
    if (!r) return r.error();
    for (std::size_t i = first; i < last; ++i) {
      const auto& rep = (*r)[i - first];
      if (rep.is_error()) return errc::storage_unavailable;
      bool unreadable = false;
      out.push_back({(*groups)[i], group_metadata_of(rep.get(), unreadable)});
      if (!unreadable) continue;
      ++unreadable_count;
      an_unreadable = &(*groups)[i];
    }
  }
  if (an_unreadable != nullptr) note_unreadable_metadata(unreadable_count, *an_unreadable);
  return out;
}

// A listing reads every group's record each time, and clients list groups often: one
// warning a minute per store (with how many, and one of them), the rest at debug.
void redis_store::note_unreadable_metadata(std::size_t count, const std::string& group) {
  const auto now = std::chrono::steady_clock::now();
  const bool warn = unreadable_metadata_warned_ == std::chrono::steady_clock::time_point{} ||
                    now - unreadable_metadata_warned_ >= std::chrono::minutes(1);
  if (warn) unreadable_metadata_warned_ = now;
  logging::storage().log(warn ? spdlog::level::warn : spdlog::level::debug,
                         "{} group metadata record(s) in a format this broker cannot read (a later "
                         "version) read as none (group '{}'{}){}",
                         count, group, count > 1 ? " among them" : "", warn ? "; said at most once a minute" : "");
}

expected<producer_history> redis_store::read_producer_history(const topic_partition& tp) {
  producer_history out;
  {
    auto fields = hash_fields(producers_key(tp));
    if (!fields) return fields.error();
    const auto& rep = *fields;
    for (std::size_t i = 0; i + 1 < rep->elements; i += 2) {
      const auto field = str(rep->element[i]);
      const auto value = str(rep->element[i + 1]);
      std::int64_t n = 0;
      const bool ok = field == "@" ? parse_int(value, out.covers)
                                   : parse_int(field, n) && decode_window(n, value, out.batches);
      if (!ok) {
        logging::storage().error("corrupt producer snapshot field '{}' in {}", field, producers_key(tp));
        return errc::corrupt_stored_data;
      }
    }
    std::sort(out.batches.begin(), out.batches.end(),
              [](const auto& a, const auto& b) { return a.base_offset < b.base_offset; });
  }
  // Then the log after the snapshot, newest first, page by page (bounded): headers only, the
  // frames stay on the server.
  const std::string key = log_key(tp);
  constexpr std::size_t page = 128;
  const std::string floor = entry_id(out.covers);
  std::string from = "+";
  std::vector<producer_batch> logged;
  for (std::size_t scanned = 0; scanned < producer_history_scan_limit;) {
    bool ended = false;
    auto entries = entry_headers(key, true, from, floor,
                                 std::min(page, producer_history_scan_limit - scanned), ended);
    if (!entries) return entries.error();
    for (const auto& b : *entries) {
      ++scanned;
      if (!b.producer.present()) continue;
      logged.push_back({b.producer.id, b.producer.epoch, b.producer.base_sequence,
                        last_sequence(b.producer.base_sequence, b.record_count), b.base_offset,
                        b.record_count, -1});
    }
    if (ended || entries->empty() || entries->back().base_offset <= out.covers) break;
    from = "(" + entry_id(entries->back().base_offset);  // exclusive: on below the last one read
  }
  out.batches.insert(out.batches.end(), logged.rbegin(), logged.rend());
  return out;
}

namespace {

// A producer snapshot's write: with a fence, only while the partition's lease has it, checked
// in the same step (a node that lost the partition would move `@` back under its successor's
// window). KEYS: the producers hash, lease. ARGV: fence ("" none), how many expired producers
// follow, their ids, then the fields to set (`@` and the covered offset, then per producer its
// id and window), which change together. In slices: unpack puts every value it returns on
// Lua's stack, which takes about 8000.
const lua_script put_producer_snapshot_script{R"lua(
if ARGV[1] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[1] then return 'FENCED' end
local expired = tonumber(ARGV[2])
local function each_slice(cmd, from, to)
  for i = from, to, 1000 do
    redis.call(cmd, KEYS[1], unpack(ARGV, i, math.min(i + 999, to)))
  end
end
each_slice('HDEL', 3, 2 + expired)
each_slice('HSET', 3 + expired, #ARGV)
return 'OK'
)lua"};

}  // namespace

std::error_code redis_store::put_producer_snapshot(const topic_partition& tp,
                                                   const producer_snapshot& snapshot,
                                                   const std::string& fence) {
  command c;
  c.script(put_producer_snapshot_script).arg("2");
  c.own(producers_key(tp)).own(lease_key(partition_lease(tp))).arg(fence);
  c.own(std::to_string(snapshot.expired.size()));
  for (auto id : snapshot.expired) c.own(std::to_string(id));
  c.arg("@").own(std::to_string(snapshot.covers));
  const auto& b = snapshot.batches;
  for (std::size_t i = 0; i < b.size();) {
    std::size_t j = i;
    while (j < b.size() && b[j].producer_id == b[i].producer_id) ++j;
    c.own(std::to_string(b[i].producer_id)).own(encode_window(&b[i], j - i));
    i = j;
  }
  auto r = pipeline({&c, 1});
  if (!r) return r.error();
  const auto& out = (*r)[0];
  if (!out.is_error() && str(out.get()) == "FENCED") return make_error_code(errc::not_leader);
  if (out.is_error() || str(out.get()) != "OK") {
    // A server out of memory refuses every snapshot a partition tries after each failed
    // write: one warning per partition until one is stored, the repeats at debug.
    // Bounded: partitions deleted or moved away while refused would otherwise stay in it.
    if (snapshots_refused_.size() >= 4096) snapshots_refused_.clear();
    auto key = log_key(tp);
    const bool first = snapshots_refused_.insert(key).second;
    logging::storage().log(first ? spdlog::level::warn : spdlog::level::debug,
                           "store refused the producer snapshot of {}: {}{}", key,
                           out.is_error() ? str(out.get()) : "no script result",
                           first ? " (further refusals of it at debug until one is stored)" : "");
    return make_error_code(errc::storage_unavailable);
  }
  if (!snapshots_refused_.empty()) snapshots_refused_.erase(log_key(tp));
  return {};
}

// -- cluster ----------------------------------------------------------------------------------

std::string redis_store::lease_key(const std::string& name) const {
  return options_.key_prefix + ":lease:{" + name + "}";
}

std::string redis_store::node_key(std::int32_t node) const {
  return options_.key_prefix + ":node:" + std::to_string(node);
}

namespace {

// KEYS: the node's key, the set of node ids. ARGV: token, value ("<token>\n<endpoints>"),
// ttl ms, node id. Refused (0) while another token's registration lives.
const lua_script register_node_script{R"lua(
local cur = redis.call('GET', KEYS[1])
if cur and string.sub(cur, 1, #ARGV[1] + 1) ~= ARGV[1] .. '\n' then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('SADD', KEYS[2], ARGV[4])
return 1
)lua"};

// KEYS: the node's key, the set of node ids. ARGV: token, node id. The id leaves the set
// with its registration (or once that has run out), so that live_nodes does not read the
// key of every id ever registered.
const lua_script deregister_node_script{R"lua(
local cur = redis.call('GET', KEYS[1])
if cur and string.sub(cur, 1, #ARGV[1] + 1) ~= ARGV[1] .. '\n' then return 1 end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[2])
return 1
)lua"};

// KEYS: the set of node ids, then the keys of ids whose registration was found expired.
// ARGV: those ids. Each leaves the set only if its key is still gone: the node may have
// registered again since it was read.
const lua_script forget_expired_nodes_script{R"lua(
for i = 2, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 0 then redis.call('SREM', KEYS[1], ARGV[i - 1]) end
end
return 1
)lua"};

// KEYS: (lease, epoch counter, last holder) per claim. ARGV: node id, token, ttl ms, then one
// intent per claim. Returns each lease's value after ('' for none), and the claims (1-based)
// whose lease this round took from a holder that let it run out. The last holder's value is
// kept without a time to live until that holder releases the lease (or the topic is
// deleted): a lease found free while it is still there was not given up, and taken from
// another holder (node or run) it is a failover, not a hand-over.
const lua_script lease_round_script{R"lua(
local node, token, ttl = ARGV[1], ARGV[2], ARGV[3]
local function holder(value)
  return string.match(value, '^(%d+):%d+:(.*)$')
end
local out, over = {}, {}
for i = 1, #KEYS / 3 do
  local lease, epoch, last, intent = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i], ARGV[3 + i]
  local cur = redis.call('GET', lease)
  local mine = false
  if cur then
    local n, t = holder(cur)
    mine = n == node and t == token
  end
  if mine and intent == 'w' then
    redis.call('PEXPIRE', lease, ttl)
  elseif mine and intent == 'd' then
    redis.call('DEL', lease, last)
    cur = false
  elseif not cur and intent == 'w' then
    local before = redis.call('GET', last)
    if before then
      local n, t = holder(before)
      if not (n == node and t == token) then over[#over + 1] = i end
    end
    cur = node .. ':' .. redis.call('INCR', epoch) .. ':' .. token
    redis.call('SET', lease, cur, 'PX', ttl)
    redis.call('SET', last, cur)
  end
  out[i] = cur or ''
end
return {out, over}
)lua"};

}  // namespace

expected<bool> redis_store::register_node(const node_registration& r, std::chrono::milliseconds ttl) {
  command c;
  c.script(register_node_script).arg("2").own(node_key(r.node)).own(options_.key_prefix + ":nodes");
  c.arg(r.token).own(r.token + "\n" + r.endpoints).own(std::to_string(ttl.count())).own(std::to_string(r.node));
  auto replies = pipeline({&c, 1});
  if (!replies) return replies.error();
  const auto& rep = (*replies)[0];
  if (rep.is_error() || rep->type != REDIS_REPLY_INTEGER) {
    logging::storage().warn("registering node {} failed: {}", r.node, str(rep.get()));
    return errc::storage_unavailable;
  }
  return rep->integer == 1;
}

std::error_code redis_store::deregister_node(const node_registration& r) {
  command c;
  c.script(deregister_node_script).arg("2").own(node_key(r.node)).own(options_.key_prefix + ":nodes");
  c.arg(r.token).own(std::to_string(r.node));
  auto replies = pipeline({&c, 1});
  if (!replies) return replies.error();
  return (*replies)[0].is_error() ? make_error_code(errc::storage_unavailable) : std::error_code{};
}

expected<std::vector<node_registration>> redis_store::live_nodes() {
  command members;
  members.arg("SMEMBERS").own(options_.key_prefix + ":nodes");
  auto ids = pipeline({&members, 1});
  if (!ids) return ids.error();
  const auto& set = (*ids)[0];
  if (set.is_error() || (set->type != REDIS_REPLY_ARRAY))
    return errc::storage_unavailable;
  std::vector<std::int32_t> known;
  for (std::size_t i = 0; i < set->elements; ++i) {
    std::int32_t id = -1;
    if (parse_int(str(set->element[i]), id) && id >= 0) known.push_back(id);
  }
  std::vector<node_registration> out;
  if (known.empty()) return out;
  command get;
  get.arg("MGET");
  for (auto id : known) get.own(node_key(id));
  auto values = pipeline({&get, 1});
  if (!values) return values.error();
  const auto& v = (*values)[0];
  if (v.is_error() || v->type != REDIS_REPLY_ARRAY || v->elements != known.size())
    return errc::storage_unavailable;
  std::vector<std::int32_t> expired;
  for (std::size_t i = 0; i < known.size(); ++i) {
    const auto value = str(v->element[i]);
    const auto nl = value.find('\n');
    if (nl == std::string_view::npos) {
      if (v->element[i]->type == REDIS_REPLY_NIL) expired.push_back(known[i]);
      continue;
    }
    out.push_back({known[i], std::string(value.substr(0, nl)), std::string(value.substr(nl + 1))});
  }
  if (!expired.empty()) {
    // Ids whose registration ran out (a node that died) leave the set. The answer does not
    // depend on it: a failure only leaves them to the next reader.
    command forget;
    forget.script(forget_expired_nodes_script).own(std::to_string(expired.size() + 1));
    forget.own(options_.key_prefix + ":nodes");
    for (auto id : expired) forget.own(node_key(id));
    for (auto id : expired) forget.own(std::to_string(id));
    if (auto done = pipeline({&forget, 1}); !done || (*done)[0].is_error())
      logging::storage().debug("forgetting expired node ids failed; the next reader tries again");
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.node < b.node; });
  return out;
}

expected<std::vector<lease_holder>> redis_store::lease_round(const lease_holder& me,
                                                             std::chrono::milliseconds ttl,
                                                             std::span<const lease_claim> claims) {
  std::vector<lease_holder> out;
  if (claims.empty()) return out;
  command c;
  c.script(lease_round_script).own(std::to_string(claims.size() * 3));
  for (const auto& claim : claims) {
    const auto key = lease_key(claim.name);
    c.own(key).own(key + ":epoch").own(key + ":last");
  }
  c.own(std::to_string(me.node)).arg(me.token).own(std::to_string(ttl.count()));
  for (const auto& claim : claims) c.own(std::string(1, static_cast<char>(claim.intent)));
  auto replies = pipeline({&c, 1});
  if (!replies) return replies.error();
  const auto& rep = (*replies)[0];
  if (rep.is_error() || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
      rep->element[0]->type != REDIS_REPLY_ARRAY || rep->element[0]->elements != claims.size() ||
      rep->element[1]->type != REDIS_REPLY_ARRAY) {
    logging::storage().warn("lease round failed: {}", str(rep.get()));
    return errc::storage_unavailable;
  }
  const auto* values = rep->element[0];
  const auto* over = rep->element[1];
  out.reserve(claims.size());
  for (std::size_t i = 0; i < claims.size(); ++i) out.push_back(parse_lease_value(str(values->element[i])));
  for (std::size_t j = 0; j < over->elements; ++j) {
    const auto* claim = over->element[j];
    if (claim->type == REDIS_REPLY_INTEGER && claim->integer >= 1 &&
        static_cast<std::size_t>(claim->integer) <= out.size())
      out[static_cast<std::size_t>(claim->integer) - 1].taken_over = true;
  }
  return out;
}

expected<std::int64_t> redis_store::allocate_producer_ids(std::int64_t count) {
  command c;
  c.arg("INCRBY").own(options_.key_prefix + ":producer_ids").own(std::to_string(count));
  auto r = pipeline({&c, 1});
  if (!r) return r.error();
  const auto& rep = (*r)[0];
  if (rep.is_error() || rep->type != REDIS_REPLY_INTEGER) return errc::storage_unavailable;
  return rep->integer - count;
}

std::string redis_store::producer_epoch_key(std::int64_t producer_id) const {
  return options_.key_prefix + ":producer_epoch:" + std::to_string(producer_id);
}

namespace {

// log_store::bump_producer_epoch as one script, so that two clients resuming the same pair
// (on any nodes) cannot both pass the check before either writes. KEYS: the producer id
// counter, the producer's epoch record. ARGV: id, epoch, the last epoch handed out, the
// record's time to live (s). Answers the new epoch, or UNKNOWN (an id not handed out yet)
// or STALE (not the current epoch, or none left).
const lua_script bump_producer_epoch_script{R"lua(
local id, epoch = tonumber(ARGV[1]), tonumber(ARGV[2])
if id >= tonumber(redis.call('GET', KEYS[1]) or '0') then return 'UNKNOWN' end
local cur = redis.call('GET', KEYS[2])
if (cur and tonumber(cur) ~= epoch) or epoch >= tonumber(ARGV[3]) then return 'STALE' end
redis.call('SET', KEYS[2], tostring(epoch + 1), 'EX', ARGV[4])
return epoch + 1
)lua"};

}  // namespace

expected<std::int16_t> redis_store::bump_producer_epoch(std::int64_t producer_id, std::int16_t epoch) {
  if (producer_id < 0 || epoch < 0) return errc::invalid_request;
  command c;
  c.script(bump_producer_epoch_script).arg("2");
  c.own(options_.key_prefix + ":producer_ids").own(producer_epoch_key(producer_id));
  c.own(std::to_string(producer_id)).own(std::to_string(epoch)).own(std::to_string(last_producer_epoch));
  c.own(std::to_string(std::chrono::seconds(producer_epoch_ttl).count()));
  auto r = pipeline({&c, 1});
  if (!r) return r.error();
  const auto& rep = (*r)[0];
  if (!rep.is_error() && rep->type == REDIS_REPLY_INTEGER && rep->integer == epoch + 1)
    return static_cast<std::int16_t>(epoch + 1);
  if (!rep.is_error() && str(rep.get()) == "UNKNOWN") return errc::unknown_producer_id;
  if (!rep.is_error() && str(rep.get()) == "STALE") return errc::invalid_producer_epoch;
  logging::storage().warn("store refused bumping the epoch of producer {}: {}", producer_id,
                          rep.is_error() ? str(rep.get()) : "no script result");
  return errc::storage_unavailable;
}

// Credentials: one hash per mechanism (user -> encoded credential). ACLs: one hash whose
// fields are the encoded bindings.
std::string redis_store::credentials_key(protocol::security::scram_mechanism m) const {
  return options_.key_prefix + ":credentials:" + std::string(protocol::security::mechanism_name(m));
}

std::error_code redis_store::put_credential(const user_credential& c) {
  command cmd;
  cmd.arg("HSET").own(credentials_key(c.credential.mechanism)).arg(c.user).own(encode_credential(c.credential));
  auto r = pipeline({&cmd, 1});
  if (!r) return r.error();
  return (*r)[0].is_error() ? make_error_code(errc::storage_unavailable) : std::error_code{};
}

expected<bool> redis_store::delete_credential(const std::string& user, protocol::security::scram_mechanism m) {
  command cmd;
  cmd.arg("HDEL").own(credentials_key(m)).arg(user);
  auto r = pipeline({&cmd, 1});
  if (!r) return r.error();
  const auto& rep = (*r)[0];
  if (rep.is_error() || rep->type != REDIS_REPLY_INTEGER) return errc::storage_unavailable;
  return rep->integer > 0;
}

expected<std::vector<user_credential>> redis_store::list_credentials() {
  std::vector<user_credential> out;
  for (auto m : {protocol::security::scram_mechanism::sha256, protocol::security::scram_mechanism::sha512}) {
    auto fields = hash_fields(credentials_key(m));
    if (!fields) return fields.error();
    const auto& rep = *fields;
    for (std::size_t i = 0; i + 1 < rep->elements; i += 2) {
      auto c = decode_credential(m, str(rep->element[i + 1]));
      if (!c) {
        logging::storage().error("skipping unreadable {} credential of user '{}'",
                                 protocol::security::mechanism_name(m), str(rep->element[i]));
        continue;
      }
      out.push_back({std::string(str(rep->element[i])), std::move(*c)});
    }
  }
  return out;
}

std::error_code redis_store::put_acls(std::span<const protocol::security::acl_binding> bindings) {
  if (bindings.empty()) return {};
  command cmd;
  cmd.arg("HSET").own(options_.key_prefix + ":acls");
  for (const auto& b : bindings) cmd.own(encode_acl(b)).arg("1");
  auto r = pipeline({&cmd, 1});
  if (!r) return r.error();
  return (*r)[0].is_error() ? make_error_code(errc::storage_unavailable) : std::error_code{};
}

std::error_code redis_store::delete_acls(std::span<const protocol::security::acl_binding> bindings) {
  if (bindings.empty()) return {};
  command cmd;
  cmd.arg("HDEL").own(options_.key_prefix + ":acls");
  for (const auto& b : bindings) cmd.own(encode_acl(b));
  auto r = pipeline({&cmd, 1});
  if (!r) return r.error();
  return (*r)[0].is_error() ? make_error_code(errc::storage_unavailable) : std::error_code{};
}

expected<std::vector<protocol::security::acl_binding>> redis_store::list_acls() {
  auto fields = hash_fields(options_.key_prefix + ":acls");
  if (!fields) return fields.error();
  const auto& rep = *fields;
  std::vector<protocol::security::acl_binding> out;
  for (std::size_t i = 0; i + 1 < rep->elements; i += 2) {
    auto b = decode_acl(str(rep->element[i]));
    if (!b) {
      logging::storage().error("skipping an unreadable ACL binding");
      continue;
    }
    out.push_back(std::move(*b));
  }
  return out;
}

}  // namespace portask::storage

