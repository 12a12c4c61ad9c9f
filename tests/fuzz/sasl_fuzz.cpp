// libFuzzer target: the SASL messages a client controls. The input is split at its first
// newline into a client-first and a client-final message for one SCRAM exchange (against a
// known credential, and against the decoy of an unknown user), and the whole is read as a
// PLAIN message; also the client side reading a server-first message, and the native
// Authenticate decoder. Nothing may crash, read out of bounds, or accept a proof it cannot
// have checked.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocol/native_messages.hpp"
#include "protocol/security/plain.hpp"
#include "protocol/security/scram.hpp"
#include "protocol/security/scram_client.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace portask::protocol;
  using namespace portask::protocol::security;
  static const scram_credential known =
      scram_credential_from_password(scram_mechanism::sha256, "pencil", scram_min_iterations, "fixed-salt");
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto newline = in.find('\n');
  const auto first = in.substr(0, newline);
  const auto final = newline == std::string_view::npos ? std::string_view{} : in.substr(newline + 1);
  for (const scram_credential* credential : {&known, static_cast<const scram_credential*>(nullptr)}) {
    scram_server server(scram_mechanism::sha256, "fuzz-server-nonce");
    if (server.read_client_first(first)) continue;
    (void)server.server_first(credential);
    auto verdict = server.read_client_final(final);
    // Without the password no input can prove itself; the decoy never admits anyone.
    if (verdict && credential == nullptr) __builtin_trap();
  }
  (void)parse_plain(in);
  scram_client client(scram_mechanism::sha512, "user", "pencil", "fuzz-client-nonce");
  if (auto f = client.client_final(in)) (void)client.check_server_final(in);
  (void)native::decode_authenticate(byte_view{data, size});
  return 0;
}
