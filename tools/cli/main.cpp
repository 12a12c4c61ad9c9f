// portask-cli: produce, consume, and administer topics and consumer groups over the native
// protocol. `portask-cli --help` and `portask-cli COMMAND --help` list everything.
//   portask-cli produce orders -K: < lines          (key:value lines; keys pick partitions)
//   portask-cli consume orders --from -10 --format json
//   portask-cli consume orders --group billing --follow
//   portask-cli topics describe orders
//   portask-cli groups describe billing             (members, offsets, lag)
// Exit codes: 0 done, 1 runtime error (unreachable broker, refused request, output that
// cannot be written), 2 usage error, 141 standard output's reader went away (`| head`, quietly,
// as a shell reports a death by SIGPIPE), 130 / 143 produce stopped by SIGINT / SIGTERM.
#include <csignal>
#include <cstdint>
#include <exception>
#include <iostream>
#include <limits>
#include <string_view>

#include "tools/cli/cli.hpp"

namespace {

// The first word that is not a global option or its value: the command. CLI11 would report a
// misspelt command as a missing one; this names it.
std::string_view command_word(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (!a.starts_with("-")) return a;
    if (a.find('=') == std::string_view::npos &&
        (a == "--host" || a == "--port" || a == "--http-port" || a == "--timeout" || a == "--user" ||
         a == "--sasl-mechanism" || a == "--tls-ca-file" || a == "--tls-cert-file" || a == "--tls-key-file" ||
         a == "--max-frame-bytes"))
      ++i;
  }
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  using namespace portask::cli;
  // A broker that closed the connection is an error to report, not a signal to die of. A
  // reader of standard output that went away makes writes fail with EPIPE instead:
  // check_output() ends the command then, quietly, with the status a SIGPIPE death has.
  std::signal(SIGPIPE, SIG_IGN);
  take_over_output();
  CLI::App app{"portask-cli: talk to a Portask broker over the native protocol"};
  app.require_subcommand(1);
  app.option_defaults()->always_capture_default();
  app.fallthrough();  // global options are accepted after the subcommand too
  common_options common;
  app.add_option("--host", common.host, "broker host")->envname("PORTASK_HOST");
  app.add_option("--port", common.port, "native protocol port")
      ->envname("PORTASK_PORT")
      ->transform(decimal<std::uint16_t>());
  app.add_option("--http-port", common.http_port, "HTTP port (stats, cluster info)")
      ->envname("PORTASK_HTTP_PORT")
      ->transform(decimal<std::uint16_t>());
  app.add_option("--timeout", common.timeout_ms, "request timeout in ms")
      ->transform(decimal(1, std::numeric_limits<std::int32_t>::max()));  // the client's poll takes an int
  // A record stored under a broker's larger max_frame_bytes comes back in a frame over the
  // default: it cannot be read without this. Below 1024 not even an answer's header fits.
  app.add_option("--max-frame-bytes", common.max_frame_bytes,
                 "largest frame taken from the broker, in bytes (1024 or more; raise it with the broker's "
                 "max_frame_bytes, to read records stored under a larger limit; also caps produce's "
                 "--max-batch-bytes)")
      ->transform(decimal(1024, std::numeric_limits<std::uint32_t>::max()));
  auto* user = app.add_option("--user", common.user,
                               "authenticate as this user; the password comes from PORTASK_PASSWORD or a prompt")
                   ->envname("PORTASK_USER")
                   ->check(CLI::Validator(
                       [](std::string& v) { return v.empty() ? std::string("a user name cannot be empty") : std::string(); },
                       ""));
  // Without a user nothing authenticates: a mechanism alone would be silently unused.
  app.add_option("--sasl-mechanism", common.sasl_mechanism, "SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN (needs --user)")
      ->check(CLI::IsMember({"SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"}))
      ->needs(user);
  app.add_flag("--tls", common.tls, "connect with TLS (the listener is SSL or SASL_SSL)")
      ->envname("PORTASK_TLS");
  app.add_option("--tls-ca-file", common.tls_ca_file,
                 "CAs the broker's certificate must chain to (PEM; implies --tls; default: the system's)")
      ->envname("PORTASK_TLS_CA_FILE");
  app.add_option("--tls-cert-file", common.tls_cert_file,
                 "client certificate for listeners that ask for one (PEM; implies --tls)")
      ->envname("PORTASK_TLS_CERT_FILE");
  app.add_option("--tls-key-file", common.tls_key_file, "the client certificate's private key (PEM)")
      ->envname("PORTASK_TLS_KEY_FILE");
  add_produce_command(app, common);
  add_consume_command(app, common);
  add_topics_commands(app, common);
  add_groups_commands(app, common);
  add_cluster_commands(app, common);
  add_security_commands(app, common);
  for (auto* sub : app.get_subcommands({})) {
    sub->fallthrough();
    for (auto* leaf : sub->get_subcommands({})) leaf->fallthrough();
  }
  if (const auto word = command_word(argc, argv); !word.empty()) {
    bool known = false;
    for (const auto* sub : app.get_subcommands({})) known = known || sub->check_name(std::string(word));
    if (!known) {
      std::cerr << "portask-cli: unknown command '" << word
                << "' (commands: produce, consume, topics, groups, users, acls, cluster, stats; see --help)\n";
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
    // What is still buffered for standard output must reach it, or the command failed.
    check_output();
  } catch (const exit_status& e) {
    return e.code;
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help, or the parse error with a hint
    return code == 0 ? 0 : 2;
  } catch (const usage_error& e) {
    std::cerr << "portask-cli: " << e.what() << "\n";
    return 2;
  } catch (const runtime_error& e) {
    std::cerr << "portask-cli: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {  // anything else is a failure to report, not an abort
    std::cerr << "portask-cli: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
