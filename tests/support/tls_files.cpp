#include "tls_files.hpp"

#include <fstream>
#include <iostream>

#include "process.hpp"

namespace portask::test {

namespace {

// A key and a certificate signed by `ca` (or self-signed when `ca` is empty).
bool issue(const std::string& dir, const std::string& name, const std::string& subject, const std::string& ca,
           const std::string& extensions = {}) {
  const std::string base = dir + "/" + name;
  std::string cmd = "cd '" + dir + "' && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout '" +
                    base + ".key' -subj '" + subject + "' ";
  if (ca.empty()) {
    cmd += "-x509 -days 2 -out '" + base + ".pem'";
  } else {
    cmd += "-out '" + base + ".csr' && ";
    if (!extensions.empty()) cmd += "printf '" + extensions + "\\n' > '" + base + ".ext' && ";
    cmd += "openssl x509 -req -in '" + base + ".csr' -CA '" + dir + "/" + ca + ".pem' -CAkey '" + dir + "/" + ca +
           ".key' -CAcreateserial -days 2 -out '" + base + ".pem'";
    if (!extensions.empty()) cmd += " -extfile '" + base + ".ext'";
  }
  auto [rc, out] = run_shell("(" + cmd + ") 2>&1");
  if (rc != 0) std::cerr << "openssl failed for " << name << ": " << out << "\n";
  return rc == 0;
}

const std::string server_ext = "subjectAltName=IP:127.0.0.1,DNS:localhost";

}  // namespace

tls_files make_tls_files(const std::string& dir) {
  if (!issue(dir, "ca", "/CN=Portask Test CA", "") || !issue(dir, "rogue-ca", "/CN=Rogue CA", "") ||
      !issue(dir, "server", "/CN=localhost", "ca", server_ext) ||
      !issue(dir, "reloaded", "/CN=reloaded", "ca", server_ext) ||
      !issue(dir, "alice", "/O=Portask/CN=alice", "ca") || !issue(dir, "bob", "/O=Portask/CN=bob", "ca") ||
      !issue(dir, "mallory", "/O=Portask/CN=mallory", "rogue-ca") ||
      !issue(dir, "nameless", "/", "ca", "subjectAltName=critical,DNS:nameless.example"))
    return {};
  auto f = [&](const char* n, const char* ext) { return dir + "/" + n + ext; };
  return {f("ca", ".pem"),      f("server", ".pem"),  f("server", ".key"),   f("alice", ".pem"),
          f("alice", ".key"),   f("bob", ".pem"),     f("bob", ".key"),      f("mallory", ".pem"),
          f("mallory", ".key"), f("reloaded", ".pem"), f("reloaded", ".key"), f("nameless", ".pem"),
          f("nameless", ".key")};
}

std::string issue_dated_server_cert(const std::string& dir, const std::string& name, const std::string& not_before,
                                    const std::string& not_after) {
  // `openssl x509 -req` (OpenSSL 3.0) takes no start date; `openssl ca` does, and needs a
  // configuration naming its database.
  const std::string base = dir + "/" + name;
  {
    std::ofstream index(base + ".index");  // empty: no certificate issued yet
    std::ofstream ext(base + ".ext");
    ext << server_ext << "\n";
    std::ofstream config(base + ".cnf");
    config << "[ca]\ndefault_ca = dated\n[dated]\ndatabase = " << base << ".index\nnew_certs_dir = " << dir
           << "\nserial = " << base << ".serial\ndefault_md = sha256\npolicy = any\nunique_subject = no\n"
           << "[any]\ncommonName = supplied\n";
  }
  const std::string cmd = "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout '" + base +
                          ".key' -subj '/CN=" + name + "' -out '" + base + ".csr' && " +
                          "openssl ca -batch -notext -config '" + base + ".cnf' -cert '" + dir + "/ca.pem' -keyfile '" +
                          dir + "/ca.key' -create_serial -startdate " + not_before + " -enddate " + not_after +
                          " -extfile '" + base + ".ext' -in '" + base + ".csr' -out '" + base + ".pem'";
  auto [rc, out] = run_shell("(" + cmd + ") 2>&1");
  if (rc != 0) {
    std::cerr << "openssl failed for " << name << ": " << out << "\n";
    return {};
  }
  return base + ".pem";
}

}  // namespace portask::test
