#include "tools/cli/cli.hpp"

#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <streambuf>

#include "tools/cli/numbers.hpp"
#include "tools/cli/record_format.hpp"

namespace portask::cli {
namespace {

// The terminal's settings from before the password prompt turned echo off, for the handler.
termios terminal_before_prompt{};

// The signals that end the process at the prompt by default.
constexpr int prompt_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
constexpr std::size_t prompt_signal_count = sizeof prompt_signals / sizeof prompt_signals[0];

// Ctrl-C at the prompt must not leave the shell without echo: the settings go back, then the
// signal does what it would have done (SA_RESETHAND made its action the default again, and
// the raised signal is delivered once this handler returns).
void restore_terminal_and_die(int sig) {
  tcsetattr(STDIN_FILENO, TCSANOW, &terminal_before_prompt);
  std::raise(sig);
}

}  // namespace

std::string read_secret(const char* env, const std::string& prompt) {
  if (const char* pw = std::getenv(env)) return pw;
  if (!isatty(STDIN_FILENO))
    throw usage_error(prompt + ": needs " + env + " (stdin is not a terminal to ask on)");
  std::cerr << prompt << ": " << std::flush;
  tcgetattr(STDIN_FILENO, &terminal_before_prompt);
  struct sigaction on_signal {};
  on_signal.sa_handler = restore_terminal_and_die;
  sigemptyset(&on_signal.sa_mask);
  on_signal.sa_flags = SA_RESETHAND;
  struct sigaction before[prompt_signal_count] = {};
  // A signal ignored on purpose (a job started in the background) stays ignored.
  for (std::size_t i = 0; i < prompt_signal_count; ++i) {
    sigaction(prompt_signals[i], nullptr, &before[i]);
    if (before[i].sa_handler != SIG_IGN) sigaction(prompt_signals[i], &on_signal, nullptr);
  }
  termios quiet = terminal_before_prompt;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  std::string line;
  std::getline(std::cin, line);
  tcsetattr(STDIN_FILENO, TCSANOW, &terminal_before_prompt);
  for (std::size_t i = 0; i < prompt_signal_count; ++i) sigaction(prompt_signals[i], &before[i], nullptr);
  std::cerr << "\n";
  return line;
}

// Asked once per process: `cluster info` authenticates natively and over HTTP.
std::string password_for(const std::string& user) {
  static std::map<std::string, std::string> known;
  auto it = known.find(user);
  if (it == known.end())
    it = known.emplace(user, read_secret("PORTASK_PASSWORD", "password for " + user)).first;
  return it->second;
}

namespace {

client::options options_of(const common_options& o, protocol::encoding e) {
  client::options opts;
  opts.host = o.host;
  opts.port = o.port;
  opts.encoding = e;
  opts.timeout = std::chrono::milliseconds(o.timeout_ms);
  opts.max_frame_bytes = o.max_frame_bytes;
  if (!o.tls_key_file.empty() && o.tls_cert_file.empty())
    throw usage_error("--tls-key-file needs --tls-cert-file (the client certificate it belongs to)");
  opts.tls = o.tls || !o.tls_ca_file.empty() || !o.tls_cert_file.empty();
  opts.tls_ca_file = o.tls_ca_file;
  opts.tls_cert_file = o.tls_cert_file;
  opts.tls_key_file = o.tls_key_file;
  if (!o.user.empty()) {
    opts.user = o.user;
    opts.password = password_for(o.user);
    opts.mechanism = o.sasl_mechanism;
  }
  return opts;
}

}  // namespace

namespace {

// The opened connection, or a runtime_error saying why not. When no socket could be
// connected the client's own message already names the address (and says why), so it is
// not said twice; a handshake or authentication that failed is prefixed with the address.
template <class T>
T opened(client::result<T> r, const common_options& o) {
  const std::string where = o.host + ":" + std::to_string(o.port);
  if (client::ok(r)) return std::move(std::get<0>(r));
  const auto& e = client::error_of(r);
  if (e.message.find(where) != std::string::npos) throw runtime_error(failure_text(e));
  return check(std::move(r), "cannot connect to " + where);
}

}  // namespace

client::connection open(const common_options& o, protocol::encoding e) {
  return opened(client::connection::open(options_of(o, e)), o);
}

client::cluster_client open_cluster(const common_options& o, protocol::encoding e) {
  return opened(client::cluster_client::open(options_of(o, e)), o);
}

std::string failure_text(const client::failure& f) {
  std::string text = f.message;
  // A frame from the broker over this client's limit (message_size), not the broker's
  // refusal of one of ours (over its own max_frame_bytes, which no flag here changes).
  if (client::over_client_frame_limit(f)) text += " (--max-frame-bytes)";
  if (f.retriable) text += " (retriable)";
  return text;
}

std::pair<std::string, std::string> split_pair(const std::string& s) {
  const auto eq = s.find('=');
  if (eq == std::string::npos) return {s, ""};
  return {s.substr(0, eq), s.substr(eq + 1)};
}

void add_listing_format(CLI::App* cmd, listing& out) {
  cmd->add_option("--format", out, "output: text (a table) or json")
      ->transform(CLI::CheckedTransformer(
          std::map<std::string, listing>{{"text", listing::text}, {"json", listing::json}}))
      ->default_str("text");
}

void print_table(const std::vector<std::vector<std::string>>& rows, std::ostream& out) {
  std::vector<std::vector<std::string>> cells;
  cells.reserve(rows.size());
  for (const auto& row : rows) {
    auto& escaped = cells.emplace_back();
    for (const auto& cell : row) escaped.push_back(escape_bytes(cell));
  }
  std::vector<std::size_t> width;
  for (const auto& row : cells) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], row[i].size());
    }
  }
  for (const auto& row : cells) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    out << line << '\n';
  }
}

std::string json_text(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

CLI::Validator decimal(std::int64_t min, std::int64_t max) {
  return CLI::Validator(
      [min, max](std::string& value) {
        std::string why;
        auto canonical = canonical_decimal(value, min, max, why);
        if (!canonical) return why;
        value = std::move(*canonical);
        return std::string();
      },
      std::string(), "decimal");
}

namespace {

// std::cout's buffer, written to standard output with write(2): it keeps the reason a write
// failed. Through stdio that reason is lost: glibc drops its buffer when a write fails, and
// the fflush() that check_output() makes later succeeds with nothing left to write, errno
// untouched (`consume ... > /dev/full` said only "cannot write to standard output").
class output_buffer final : public std::streambuf {
 public:
  output_buffer() { setp(space_, space_ + sizeof space_); }
  /// The errno of the write that failed (0: none has).
  int failed_with() const noexcept { return failed_with_; }

 protected:
  int_type overflow(int_type c) override {
    if (!drain()) return traits_type::eof();
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(c);
      pbump(1);
    }
    return traits_type::not_eof(c);
  }
  int sync() override { return drain() ? 0 : -1; }

 private:
  // Writes what is buffered; after a failure nothing more is written, so that the output
  // never looks whole with a piece missing from its middle.
  bool drain() {
    if (failed_with_ != 0) return false;
    for (const char* p = pbase(); p < pptr();) {
      const auto n = ::write(STDOUT_FILENO, p, static_cast<std::size_t>(pptr() - p));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        failed_with_ = n < 0 ? errno : EIO;
        return false;
      }
      p += n;
    }
    setp(space_, space_ + sizeof space_);
    return true;
  }

  char space_[64 * 1024];
  int failed_with_ = 0;
};

// Never destroyed: std::cout is flushed once more at exit, after every object of main and
// every static of this file may be gone.
output_buffer& standard_output() {
  static auto* const buffer = [] {
    auto* b = new output_buffer;
    std::cout.rdbuf(b);
    return b;
  }();
  return *buffer;
}

}  // namespace

void take_over_output() { (void)standard_output(); }

bool output_reader_gone() {
  pollfd p{STDOUT_FILENO, 0, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP)) != 0;
}

void check_output() {
  auto& out = standard_output();
  std::cout.flush();
  const int failed_with = out.failed_with();
  if (std::cout && failed_with == 0) return;
  // SIGPIPE is ignored (main), so a reader that left shows as EPIPE (the failed write may
  // have been an earlier one: the buffer keeps its reason), or as a pipe that polls as an error.
  if (failed_with == EPIPE || output_reader_gone()) throw exit_status{reader_gone_status};
  throw runtime_error(std::string("cannot write to standard output") +
                      (failed_with != 0 ? std::string(": ") + std::strerror(failed_with) : std::string()));
}

}  // namespace portask::cli
