#include "tools/cli/record_format.hpp"

#include <nlohmann/json.hpp>

#include "protocol/base64.hpp"
#include "protocol/utf8.hpp"
#include "tools/cli/escapes.hpp"

namespace portask::cli {
namespace {

// The length of the UTF-8 sequence `bytes` starts with (its first byte >= 0x80), or 0 when it
// is not a well-formed one.
std::size_t sequence_length(std::string_view bytes) {
  const auto lead = static_cast<unsigned char>(bytes[0]);
  const std::size_t n = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 0;
  return n && n <= bytes.size() && protocol::is_utf8(bytes.substr(0, n)) ? n : 0;
}

void append_escaped(std::string& out, std::string_view bytes) {
  static constexpr char hex[] = "0123456789abcdef";
  const auto escape = [&out](unsigned char u) {
    out += "\\x";
    out += hex[u >> 4];
    out += hex[u & 0xf];
  };
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const char c = bytes[i];
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case '\\': out += "\\\\"; break;
      default:
        if (u < 0x20 || u == 0x7f) {
          escape(u);
        } else if (u < 0x80) {
          out += c;
        } else if (const auto n = sequence_length(bytes.substr(i)); n == 0) {
          escape(u);  // not UTF-8: the byte alone, and the next one on its own merits
        } else if (n == 2 && u == 0xc2 && static_cast<unsigned char>(bytes[i + 1]) < 0xa0) {
          // U+0080..U+009F, the C1 controls: a terminal obeys them as escape codes (C2 9B is
          // CSI, as ESC [ is), so they are shown as the control bytes they are.
          escape(u);
          escape(static_cast<unsigned char>(bytes[++i]));
        } else {
          // A well-formed UTF-8 sequence is kept: text in any language stays readable.
          out.append(bytes.substr(i, n));
          i += n - 1;
        }
    }
  }
}

std::string headers_text(const protocol::message& m) {
  std::string out;
  for (const auto& h : m.headers) {
    if (!out.empty()) out += ',';
    append_escaped(out, h.key);
    out += '=';
    if (h.value) append_escaped(out, *h.value);
  }
  return out;
}

// A byte string as JSON: a string when it is UTF-8, else base64 with a marker field.
void put_bytes(nlohmann::json& obj, const char* name, const std::optional<std::string>& bytes) {
  if (!bytes) {
    obj[name] = nullptr;
  } else if (protocol::is_utf8(*bytes)) {
    obj[name] = *bytes;
  } else {
    obj[name] = protocol::base64_encode(*bytes);
    obj[std::string(name) + "_encoding"] = "base64";
  }
}

// The template `spec` with its escapes read (escapes.hpp) in the text between its tokens, so
// that an escaped byte is text, never a token: a '%' it stands for (\x25) is kept as "%%".
// Nothing when an escape or a token is not one, with `why` saying what is wrong.
std::optional<std::string> read_template(std::string_view spec, std::string& why) {
  std::string out;
  std::size_t text_from = 0;
  const auto take_text = [&](std::size_t end) {
    auto text = unescape(spec.substr(text_from, end - text_from), why);
    if (!text) return false;
    for (const char c : *text) {
      out += c;
      if (c == '%') out += '%';
    }
    return true;
  };
  for (std::size_t i = 0; i < spec.size(); ++i) {
    if (spec[i] != '%') continue;
    if (!take_text(i)) return std::nullopt;
    if (++i == spec.size() || std::string_view("tpoTkKsSh%").find(spec[i]) == std::string_view::npos) {
      why = i == spec.size() ? "a % ends it (%% for a percent sign)"
                             : "unknown token %" + std::string(1, spec[i]);
      return std::nullopt;
    }
    out += '%';
    out += spec[i];
    text_from = i + 1;
  }
  if (!take_text(spec.size())) return std::nullopt;
  return out;
}

}  // namespace

std::string escape_bytes(std::string_view bytes) {
  std::string out;
  append_escaped(out, bytes);
  return out;
}

std::optional<record_format> record_format::parse(std::string_view spec, std::string* why) {
  if (spec == "text") return record_format(kind::text);
  if (spec == "json") return record_format(kind::json);
  if (spec.find('%') == std::string_view::npos) return std::nullopt;
  std::string reason;
  auto pattern = read_template(spec, reason);
  if (!pattern) {
    if (why) *why = std::move(reason);
    return std::nullopt;
  }
  return record_format(kind::pattern, std::move(*pattern));
}

std::string record_format::render(const std::string& topic, const protocol::message& m) const {
  std::string out;
  switch (kind_) {
    case kind::text:
      out += std::to_string(m.partition) + '\t' + std::to_string(m.offset) + '\t' +
             std::to_string(m.timestamp_ms) + '\t';
      if (m.key) append_escaped(out, *m.key);
      out += '\t' + headers_text(m) + '\t';
      if (m.value) append_escaped(out, *m.value);
      out += '\n';
      return out;
    case kind::json: {
      nlohmann::json j;
      j["topic"] = topic;
      j["partition"] = m.partition;
      j["offset"] = m.offset;
      j["timestamp"] = m.timestamp_ms;
      put_bytes(j, "key", m.key);
      auto headers = nlohmann::json::array();
      for (const auto& h : m.headers) {
        nlohmann::json hj;
        put_bytes(hj, "key", std::optional<std::string>(h.key));
        put_bytes(hj, "value", h.value);
        headers.push_back(std::move(hj));
      }
      j["headers"] = std::move(headers);
      put_bytes(j, "value", m.value);
      // Every byte field is UTF-8 or base64 by now; replace keeps dump() from throwing
      // should a topic name ever not be (as every JSON output of the CLI does).
      return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + '\n';
    }
    case kind::pattern:
      for (std::size_t i = 0; i < pattern_.size(); ++i) {
        if (pattern_[i] != '%') {
          out += pattern_[i];
          continue;
        }
        switch (pattern_[++i]) {
          case 't': append_escaped(out, topic); break;
          case 'p': out += std::to_string(m.partition); break;
          case 'o': out += std::to_string(m.offset); break;
          case 'T': out += std::to_string(m.timestamp_ms); break;
          case 'k': if (m.key) append_escaped(out, *m.key); break;
          case 'K': out += m.key ? std::to_string(m.key->size()) : "-1"; break;
          case 's': if (m.value) append_escaped(out, *m.value); break;
          case 'S': out += m.value ? std::to_string(m.value->size()) : "-1"; break;
          case 'h': out += headers_text(m); break;
          default: out += '%'; break;
        }
      }
      return out;
  }
  return out;
}

}  // namespace portask::cli
