#include "protocol/codecs/structured_codec.hpp"

#include <nlohmann/json.hpp>

#include "protocol/base64.hpp"

namespace portask::protocol {
namespace {

using json = nlohmann::json;
constexpr int document_format = 1;

class document_writer {
 public:
  explicit document_writer(bool text) : text_(text) {}

  json bytes(const std::string& s) const {
    if (text_) return base64_encode(s);
    return json::binary(std::vector<std::uint8_t>(s.begin(), s.end()));
  }
  json nullable(const std::optional<std::string>& s) const { return s ? bytes(*s) : json(nullptr); }

  json batch(const message_batch& b) const {
    json msgs = json::array();
    const std::string* batch_topic = b.messages.empty() ? nullptr : &b.messages.front().topic;
    for (const auto& m : b.messages) {
      json headers = json::array();
      for (const auto& h : m.headers)
        headers.push_back(json{{"key", bytes(h.key)}, {"value", nullable(h.value)}});
      msgs.push_back(json{{"id", m.id},
                          {"topic", m.topic.empty() ? *batch_topic : m.topic},
                          {"partition", m.partition},
                          {"key", nullable(m.key)},
                          {"value", nullable(m.value)},
                          {"headers", std::move(headers)},
                          {"timestamp", m.timestamp_ms},
                          {"priority", m.priority},
                          {"expires_at", m.expires_at_ms},
                          {"offset", m.offset}});
    }
    return json{{"format", document_format}, {"messages", std::move(msgs)}};
  }

 private:
  bool text_;
};

// Reads the document back, checking every type; any deviation is malformed_payload.
class document_reader {
 public:
  explicit document_reader(bool text) : text_(text) {}

  bool bytes(const json& j, std::string& out) const {
    if (text_) {
      if (!j.is_string()) return false;
      auto d = base64_decode(j.get_ref<const std::string&>());
      if (!d) return false;
      out = std::move(*d);
      return true;
    }
    if (!j.is_binary()) return false;
    const auto& bin = j.get_binary();
    out.assign(bin.begin(), bin.end());
    return true;
  }
  bool nullable(const json& j, std::optional<std::string>& out) const {
    if (j.is_null()) {
      out.reset();
      return true;
    }
    return bytes(j, out.emplace());
  }
  template <class Int>
  static bool integer(const json& j, Int& out) {
    if (!j.is_number_integer()) return false;
    if constexpr (std::is_unsigned_v<Int>) {
      if (!j.is_number_unsigned()) return false;
      auto v = j.get<std::uint64_t>();
      if (v > std::numeric_limits<Int>::max()) return false;
      out = static_cast<Int>(v);
    } else {
      if (j.is_number_unsigned() &&
          j.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<Int>::max()))
        return false;
      auto v = j.get<std::int64_t>();
      if (v < std::numeric_limits<Int>::min() || v > std::numeric_limits<Int>::max()) return false;
      out = static_cast<Int>(v);
    }
    return true;
  }
  static const json* field(const json& obj, const char* name) {
    auto it = obj.find(name);
    return it == obj.end() ? nullptr : &*it;
  }

  bool message(const json& j, protocol::message& m) const {
    if (!j.is_object()) return false;
    const json *id = field(j, "id"), *topic = field(j, "topic"), *part = field(j, "partition"),
               *key = field(j, "key"), *value = field(j, "value"), *hdrs = field(j, "headers"),
               *ts = field(j, "timestamp"), *prio = field(j, "priority"),
               *exp = field(j, "expires_at"), *off = field(j, "offset");
    if (!id || !topic || !part || !key || !value || !hdrs || !ts || !prio || !exp || !off)
      return false;
    if (!topic->is_string() || !hdrs->is_array()) return false;
    m.topic = topic->get<std::string>();
    if (!integer(*id, m.id) || !integer(*part, m.partition) || !nullable(*key, m.key) ||
        !nullable(*value, m.value) || !integer(*ts, m.timestamp_ms) ||
        !integer(*prio, m.priority) || !integer(*exp, m.expires_at_ms) ||
        !integer(*off, m.offset))
      return false;
    m.headers.resize(hdrs->size());
    for (std::size_t i = 0; i < hdrs->size(); ++i) {
      const json& h = (*hdrs)[i];
      if (!h.is_object()) return false;
      const json *hk = field(h, "key"), *hv = field(h, "value");
      if (!hk || !hv || !bytes(*hk, m.headers[i].key) || !nullable(*hv, m.headers[i].value))
        return false;
    }
    return true;
  }

  bool batch(const json& doc, message_batch& b) const {
    if (!doc.is_object()) return false;
    const json *fmt = field(doc, "format"), *msgs = field(doc, "messages");
    int f = 0;
    if (!fmt || !integer(*fmt, f) || f != document_format || !msgs || !msgs->is_array())
      return false;
    b.messages.resize(msgs->size());
    for (std::size_t i = 0; i < msgs->size(); ++i)
      if (!message((*msgs)[i], b.messages[i])) return false;
    return true;
  }

 private:
  bool text_;
};

}  // namespace

std::error_code structured_codec::encode(const message_batch& batch, buffer& out) const {
  try {
    const json doc = document_writer{id_ == codec_id::json}.batch(batch);
    switch (id_) {
      case codec_id::json: {
        const std::string text = doc.dump();  // throws on a topic that is not UTF-8
        out.insert(out.end(), text.begin(), text.end());
        return {};
      }
      case codec_id::cbor: json::to_cbor(doc, out); return {};
      case codec_id::msgpack: json::to_msgpack(doc, out); return {};
      case codec_id::binary: break;
    }
    return errc::unknown_codec;
  } catch (const json::exception&) {
    return errc::invalid_request;
  }
}

namespace {

// The batch document nests five deep (document, messages, a message, its headers, a header).
// nlohmann's CBOR and MessagePack readers recurse once per level, without a limit of their
// own: a payload of nested one-element arrays would run a worker's stack out. Deeper input
// is malformed.
constexpr std::size_t max_document_depth = 8;

// The document is also bounded in values, which cost tens of bytes each decoded: `[0,0,...]`
// (or `{}` repeated) would otherwise inflate a frame thirtyfold.
class bounded_document : public nlohmann::detail::json_sax_dom_parser<json> {
  using base = nlohmann::detail::json_sax_dom_parser<json>;

 public:
  bounded_document(json& doc, std::size_t max_values) : base(doc, false), left_(max_values) {}
  bool start_object(std::size_t n) { return value() && ++depth_ <= max_document_depth && base::start_object(n); }
  bool end_object() {
    --depth_;
    return base::end_object();
  }
  bool start_array(std::size_t n) { return value() && ++depth_ <= max_document_depth && base::start_array(n); }
  bool end_array() {
    --depth_;
    return base::end_array();
  }
  bool null() { return value() && base::null(); }
  bool boolean(bool v) { return value() && base::boolean(v); }
  bool number_integer(json::number_integer_t v) { return value() && base::number_integer(v); }
  bool number_unsigned(json::number_unsigned_t v) { return value() && base::number_unsigned(v); }
  bool number_float(json::number_float_t v, const json::string_t& s) {
    return value() && base::number_float(v, s);
  }
  bool string(json::string_t& v) { return value() && base::string(v); }
  bool binary(json::binary_t& v) { return value() && base::binary(v); }
  bool too_large() const noexcept { return too_large_; }

 private:
  bool value() {
    if (left_ == 0) {
      too_large_ = true;
      return false;
    }
    --left_;
    return true;
  }
  std::size_t depth_ = 0;
  std::size_t left_;
  bool too_large_ = false;
};

}  // namespace

expected<message_batch> structured_codec::decode(byte_view in) const {
  try {
    json doc;
    bounded_document reader{doc, max_values_};
    bool parsed = false;
    switch (id_) {
      case codec_id::json:
        parsed = json::sax_parse(in.begin(), in.end(), &reader, json::input_format_t::json, true);
        break;
      case codec_id::cbor:
        parsed = json::sax_parse(in.begin(), in.end(), &reader, json::input_format_t::cbor, true);
        break;
      case codec_id::msgpack:
        parsed = json::sax_parse(in.begin(), in.end(), &reader, json::input_format_t::msgpack, true);
        break;
      case codec_id::binary: return errc::unknown_codec;
    }
    if (reader.too_large()) return errc::decompressed_too_large;
    if (!parsed || reader.is_errored()) return errc::malformed_payload;
    message_batch batch;
    if (!document_reader{id_ == codec_id::json}.batch(doc, batch)) return errc::malformed_payload;
    return batch;
  } catch (const json::exception&) {
    return errc::malformed_payload;
  }
}

}  // namespace portask::protocol
