#include "tools/cli/record_format.hpp"

#include <nlohmann/json.hpp>

#include "protocol/base64.hpp"
#include "protocol/utf8.hpp"

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

std::string unescape_template(std::string_view spec) {
  std::string out;
  for (std::size_t i = 0; i < spec.size(); ++i) {
    if (spec[i] == '\\' && i + 1 < spec.size()) {
      const char n = spec[++i];
      out += n == 'n' ? '\n' : n == 't' ? '\t' : n == 'r' ? '\r' : n;
    } else {
      out += spec[i];
    }
  }
  return out;
}

bool valid_template(std::string_view pattern) {
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '%') continue;
    if (++i == pattern.size()) return false;
    if (std::string_view("tpoTkKsSh%").find(pattern[i]) == std::string_view::npos) return false;
  }
  return true;
}

}  // namespace

std::string escape_bytes(std::string_view bytes) {
  std::string out;
  append_escaped(out, bytes);
  return out;
}

std::optional<record_format> record_format::parse(std::string_view spec) {
  if (spec == "text") return record_format(kind::text);
  if (spec == "json") return record_format(kind::json);
  if (spec.find('%') == std::string_view::npos) return std::nullopt;
  auto pattern = unescape_template(spec);
  if (!valid_template(pattern)) return std::nullopt;
  return record_format(kind::pattern, std::move(pattern));
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
