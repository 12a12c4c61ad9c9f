// libFuzzer target: the HTTP endpoint's request parser (Beast with the broker's size
// limits) and its routing, on arbitrary bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "actors/connections/http/http_request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes{reinterpret_cast<const char*>(data), size};
  // The first byte picks the limit, so both sides of it are reached with small inputs.
  const std::uint32_t limit = size > 0 ? 64u + 64u * data[0] : 4096u;
  (void)portask::parse_http_request(bytes, limit);
  return 0;
}
