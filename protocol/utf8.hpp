#pragma once
/// UTF-8 well-formedness (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF).
/// Names that clients choose (group ids, client ids, topic names echoed back) are bytes; text
/// formats that must be UTF-8 (Prometheus exposition, JSON) check or repair them with these.

#include <string>
#include <string_view>

namespace portask::protocol {

/// Whether every byte of `s` belongs to a well-formed UTF-8 sequence.
bool is_utf8(std::string_view s);

/// `s` with each malformed sequence replaced by U+FFFD, as Java's `new String(bytes, UTF_8)`
/// replaces it (Kafka reads every string so): one U+FFFD for a lead byte and the continuation
/// bytes after it that could still have made a sequence (a cut-short one, an encoded
/// surrogate), one for each other byte; `s` itself when it is UTF-8 already.
std::string valid_utf8(std::string_view s);

}  // namespace portask::protocol
