#pragma once
/// How `portask-cli consume` prints a record: one line per record whatever its bytes.
///   text      partition, offset, timestamp, key, headers, value, tab-separated
///   json      one JSON object per line (JSON Lines)
///   template  kcat's -f tokens: %t topic, %p partition, %o offset, %T timestamp (ms),
///             %k key, %K key length, %s value, %S value length, %h headers (k=v,k=v),
///             %% a percent sign; the text between takes the escapes of escapes.hpp (\n a
///             newline, \t, \r, \\, \xNN; an unknown one is refused), each standing for
///             text, never for a token (\x25 is a percent sign)
/// In text and template output, bytes that are not printable (and the separators \t, \n,
/// \\) are escaped as \t, \n, \\ or \xHH, so a record never spans lines and no escape code
/// reaches the terminal: control bytes, the C1 controls U+0080..U+009F (each of their two
/// bytes) and bytes that are not UTF-8. Well-formed UTF-8 text is kept as it is. A null key or
/// value prints as nothing in text and template, and as null in JSON.

#include <optional>
#include <string>
#include <string_view>

#include "protocol/message.hpp"

namespace portask::cli {

class record_format {
 public:
  /// "text", "json", or a template (anything containing '%'); nothing for other input, and
  /// for a template that is not one (an unknown token or escape), with `why` (when given)
  /// saying what is wrong.
  static std::optional<record_format> parse(std::string_view spec, std::string* why = nullptr);

  /// The record as one output line, newline included (templates add their own).
  std::string render(const std::string& topic, const protocol::message& m) const;

 private:
  enum class kind { text, json, pattern };
  explicit record_format(kind k, std::string pattern = {}) : kind_(k), pattern_(std::move(pattern)) {}
  kind kind_;
  std::string pattern_;
};

/// `bytes` with non-printable bytes (control bytes, C1 controls, bytes that are not UTF-8),
/// tabs, newlines and backslashes escaped.
std::string escape_bytes(std::string_view bytes);

}  // namespace portask::cli
