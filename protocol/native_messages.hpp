#pragma once
/// The native protocol's request and response payloads (docs/protocol.md section 4), used by
/// the broker's portask_connection and by the client library, so both sides share one codec.
///
/// The payload structs, encoders and decoders are generated at build time from
/// protocol/native_schema.json (tools/native_codegen) into
/// `portask/native/native_messages.hpp`: encoders append whole frames (requests, pushed
/// frames) or a Response body; decoders borrow from the payload (views), never read past it,
/// and refuse anything left over. This header adds what is not a payload layout: the Response
/// header, and the rules beyond the layout (`valid()`, in native_messages.cpp).

#include <cstdint>
#include <string>

#include "portask/native/native_messages.hpp"
#include "protocol/bytes.hpp"
#include "protocol/expected.hpp"
#include "protocol/frame.hpp"

namespace portask::protocol::native {

/// The first fields of every Response payload.
struct response_header {
  std::uint32_t request_id = 0;
  message_type request_type = message_type::response;
};

/// Reads the request id every request payload starts with (0 if too short).
std::uint32_t peek_request_id(byte_view payload) noexcept;

/// Starts a Response frame; the caller appends the body with an encode_body (or
/// encode_..._response) call and then calls finish_frame(out, pos, message_type::response, 0).
std::size_t begin_response(buffer& out, response_header h);
/// Reads a Response payload's header; `body` is what follows it.
expected<response_header> decode_response_header(byte_view payload, byte_view& body);

/// Why the decoder of a request of `type` refused `payload` as invalid_request (a value the
/// schema does not define, or a rule of valid() broken), for the Error's message: decoders
/// return only the code. Empty when the payload does not say (it is not refused so).
std::string refusal_reason(message_type type, byte_view payload);

}  // namespace portask::protocol::native
