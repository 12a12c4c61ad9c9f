// SCRAM-SHA-256/512 and PLAIN: RFC 7677's worked example byte for byte, and every way an
// exchange must be refused (wrong password, a proof wrong in one byte, a replayed
// client-final, a nonce that does not continue, channel binding, authzid, malformed input).
#include <gtest/gtest.h>

#include "protocol/base64.hpp"
#include "protocol/security/plain.hpp"
#include "protocol/security/scram.hpp"
#include "protocol/security/scram_client.hpp"

using namespace portask;
using namespace portask::protocol::security;

namespace {

// RFC 7677 section 3: user "user", password "pencil".
constexpr std::string_view rfc_client_first = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
constexpr std::string_view rfc_server_nonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
constexpr std::string_view rfc_server_first =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
constexpr std::string_view rfc_client_final =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
constexpr std::string_view rfc_server_final = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

scram_credential rfc_credential() {
  return scram_credential_from_password(scram_mechanism::sha256, "pencil", 4096,
                                        *protocol::base64_decode("W22ZaJ0SNY7soEsUEjb6gQ=="));
}

// A full exchange between scram_client and scram_server; the server's verdict on the final.
struct exchange {
  scram_server server;
  scram_client client;
  std::string server_first;
  exchange(scram_mechanism m, const scram_credential* stored, std::string user, std::string password)
      : server(m), client(m, user, std::move(password)) {
    EXPECT_FALSE(server.read_client_first(client.client_first()));
    server_first = server.server_first(stored);
  }
};

}  // namespace

TEST(Scram, Rfc7677ExampleServerSide) {
  const auto cred = rfc_credential();
  scram_server server(scram_mechanism::sha256, std::string(rfc_server_nonce));
  ASSERT_FALSE(server.read_client_first(rfc_client_first));
  EXPECT_EQ(server.username(), "user");
  EXPECT_EQ(server.server_first(&cred), rfc_server_first);
  auto final = server.read_client_final(rfc_client_final);
  ASSERT_TRUE(final) << server.failure();
  EXPECT_EQ(*final, rfc_server_final);
}

TEST(Scram, Rfc7677ExampleClientSide) {
  scram_client client(scram_mechanism::sha256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
  EXPECT_EQ(client.client_first(), rfc_client_first);
  auto final = client.client_final(rfc_server_first);
  ASSERT_TRUE(final);
  EXPECT_EQ(*final, rfc_client_final);
  EXPECT_FALSE(client.check_server_final(rfc_server_final));
  EXPECT_TRUE(client.check_server_final("v=AAAA" + std::string(rfc_server_final.substr(6))));
}

TEST(Scram, BothMechanismsAcceptTheRightPasswordAndRefuseAWrongOne) {
  for (auto m : {scram_mechanism::sha256, scram_mechanism::sha512}) {
    const auto cred = scram_credential_from_password(m, "s3cret", 8192);
    EXPECT_EQ(cred.stored_key.size(), digest_size(hash_of(m)));
    {
      exchange x(m, &cred, "alice", "s3cret");
      auto final = x.client.client_final(x.server_first);
      ASSERT_TRUE(final);
      auto verdict = x.server.read_client_final(*final);
      ASSERT_TRUE(verdict) << x.server.failure();
      EXPECT_FALSE(x.client.check_server_final(*verdict));
    }
    {
      exchange x(m, &cred, "alice", "s3creT");
      auto final = x.client.client_final(x.server_first);
      ASSERT_TRUE(final);
      auto verdict = x.server.read_client_final(*final);
      EXPECT_EQ(verdict.error(), make_error_code(errc::authentication_failed));
      EXPECT_EQ(x.server.failure(), "invalid credentials");
    }
  }
}

TEST(Scram, AProofWrongInAnyOneByteIsRefused) {
  const auto cred = scram_credential_from_password(scram_mechanism::sha512, "pw");
  exchange probe(scram_mechanism::sha512, &cred, "bob", "pw");
  const auto good = *probe.client.client_final(probe.server_first);
  const auto proof = *protocol::base64_decode(good.substr(good.rfind(",p=") + 3));
  for (std::size_t i = 0; i < proof.size(); ++i) {
    exchange x(scram_mechanism::sha512, &cred, "bob", "pw");
    auto final = *x.client.client_final(x.server_first);
    auto p = *protocol::base64_decode(final.substr(final.rfind(",p=") + 3));
    p[i] = static_cast<char>(p[i] ^ 0x01);
    const auto tampered = final.substr(0, final.rfind(",p=") + 3) + protocol::base64_encode(p);
    EXPECT_FALSE(x.server.read_client_final(tampered)) << "byte " << i;
  }
}

TEST(Scram, AReplayedClientFinalIsRefused) {
  const auto cred = scram_credential_from_password(scram_mechanism::sha256, "pw");
  exchange first(scram_mechanism::sha256, &cred, "carol", "pw");
  const auto recorded = *first.client.client_final(first.server_first);
  ASSERT_TRUE(first.server.read_client_final(recorded));
  // The same client-first again: the server picks a new nonce, so the recorded final is stale.
  scram_server again(scram_mechanism::sha256);
  ASSERT_FALSE(again.read_client_first(first.client.client_first()));
  again.server_first(&cred);
  EXPECT_FALSE(again.read_client_final(recorded));
  EXPECT_EQ(again.failure(), "nonce does not match");
  // And the finished exchange takes nothing more.
  EXPECT_FALSE(first.server.read_client_final(recorded));
}

TEST(Scram, AnUnknownUserLooksLikeAWrongPassword) {
  exchange x(scram_mechanism::sha256, nullptr, "nobody", "pw");
  exchange y(scram_mechanism::sha256, nullptr, "nobody", "other");
  // The decoy salt is stable per name, so probing cannot tell users apart by it.
  EXPECT_EQ(x.server_first.substr(x.server_first.find(",s=")), y.server_first.substr(y.server_first.find(",s=")));
  auto final = x.client.client_final(x.server_first);
  ASSERT_TRUE(final);
  EXPECT_FALSE(x.server.read_client_final(*final));
  EXPECT_EQ(x.server.failure(), "invalid credentials");
}

// The decoy's first reply has the shape of a real user's: a salt as long as the ones Portask
// makes (portask-cli salts with 24 random bytes, client/client.cpp; the broker's own admin
// credentials likewise) and Kafka's minimum and default iteration count.
TEST(Scram, AnUnknownUsersSaltIsAsLongAsTheOnesPortaskCreates) {
  for (auto m : {scram_mechanism::sha256, scram_mechanism::sha512}) {
    exchange x(m, nullptr, "nobody", "pw");
    const auto salt_at = x.server_first.find(",s=") + 3;
    const auto salt = protocol::base64_decode(x.server_first.substr(salt_at, x.server_first.find(",i=") - salt_at));
    ASSERT_TRUE(salt) << x.server_first;
    EXPECT_EQ(salt->size(), 24u) << x.server_first;
    EXPECT_EQ(scram_credential_from_password(m, "pw").salt.size(), salt->size());
    EXPECT_TRUE(x.server_first.ends_with(",i=4096")) << x.server_first;
    // The proof is refused as a wrong password's is, with the same reason.
    EXPECT_FALSE(x.server.read_client_final(*x.client.client_final(x.server_first)));
    EXPECT_EQ(x.server.failure(), "invalid credentials");
  }
}

TEST(Scram, ACredentialOfTheOtherMechanismIsNotUsed) {
  const auto cred = scram_credential_from_password(scram_mechanism::sha512, "pw");
  exchange x(scram_mechanism::sha256, &cred, "dave", "pw");
  EXPECT_FALSE(x.server.read_client_final(*x.client.client_final(x.server_first)));
}

TEST(Scram, MalformedOrUnsupportedClientFirstMessagesAreRefused) {
  for (std::string_view bad : {
           "", "n,,", "n,,n=user", "n,,r=abc,n=user", "x,,n=user,r=abc", "p=tls-unique,,n=user,r=abc",
           "n,,m=ext,n=user,r=abc", "n,,n=,r=abc", "n,,n=us=er,r=abc", "n,,n=user,r=",
           "n,,n=user,r=a\x01", "n,a=other,n=user,r=abc", "n,,n=user,r=abc,tokenauth=true",
           "n,,n=user,r=abc,junk"}) {
    scram_server s(scram_mechanism::sha256);
    EXPECT_EQ(s.read_client_first(bad), make_error_code(errc::authentication_failed)) << bad;
    EXPECT_FALSE(s.failure().empty());
  }
  scram_server s(scram_mechanism::sha256);
  EXPECT_FALSE(s.read_client_first("n,a=us=2Cer,n=us=2Cer,r=abc"));
  EXPECT_EQ(s.username(), "us,er");
}

TEST(Scram, MalformedClientFinalMessagesAreRefused) {
  const auto cred = scram_credential_from_password(scram_mechanism::sha256, "pw");
  exchange probe(scram_mechanism::sha256, &cred, "erin", "pw");
  const auto good = *probe.client.client_final(probe.server_first);
  const auto nonce = probe.server_first.substr(2, probe.server_first.find(',') - 2);
  for (const std::string& bad : {
           std::string(""), std::string("c=biws"), "c=biws,r=" + nonce,
           "c=eSws,r=" + nonce + good.substr(good.rfind(",p=")),          // y,, instead of n,,
           "c=biws,r=" + nonce + "x" + good.substr(good.rfind(",p=")),    // nonce extended
           "c=biws,r=" + nonce.substr(0, 10) + good.substr(good.rfind(",p=")),
           "c=biws,r=" + nonce + ",p=!!!!", "c=biws,r=" + nonce + ",p=AAAA", "r=" + nonce + ",c=biws" +
               good.substr(good.rfind(",p="))}) {
    exchange x(scram_mechanism::sha256, &cred, "erin", "pw");
    // Each exchange has its own nonce: put it in place of the probe's.
    std::string msg = bad;
    for (auto at = msg.find(nonce); at != std::string::npos; at = msg.find(nonce, at + 1))
      msg.replace(at, nonce.size(), x.server_first.substr(2, x.server_first.find(',') - 2));
    EXPECT_FALSE(x.server.read_client_final(msg)) << bad;
  }
}

TEST(Scram, TheNonceOfLibrdkafkaBefore261IsAcceptedInExactlyItsForm) {
  // librdkafka < 2.6.1 sends r=<client nonce><whole nonce>; nothing else longer passes.
  const auto cred = scram_credential_from_password(scram_mechanism::sha256, "pencil", 4096,
                                                   *protocol::base64_decode("W22ZaJ0SNY7soEsUEjb6gQ=="));
  const std::string cnonce = "rOprNGfwEbeRWgbNEkqO";
  const std::string full = cnonce + std::string(rfc_server_nonce);
  auto final_with = [&](const std::string& nonce) {
    scram_server server(scram_mechanism::sha256, std::string(rfc_server_nonce));
    EXPECT_FALSE(server.read_client_first(rfc_client_first));
    const auto first = server.server_first(&cred);
    // The client's proof over its own final message, as librdkafka computes it.
    const auto h = hash_algorithm::sha256;
    const auto salted = pbkdf2(h, "pencil", cred.salt, 4096);
    const auto client_key = hmac(h, salted, "Client Key");
    const std::string without_proof = "c=biws,r=" + nonce;
    const auto auth = std::string(rfc_client_first.substr(3)) + "," + first + "," + without_proof;
    const auto sig = hmac(h, digest(h, client_key), auth);
    std::string proof = client_key;
    for (std::size_t i = 0; i < proof.size(); ++i) proof[i] = static_cast<char>(proof[i] ^ sig[i]);
    return static_cast<bool>(server.read_client_final(without_proof + ",p=" + protocol::base64_encode(proof)));
  };
  EXPECT_TRUE(final_with(full));
  EXPECT_TRUE(final_with(cnonce + full));
  EXPECT_FALSE(final_with("x" + full));
  EXPECT_FALSE(final_with(cnonce.substr(1) + "x" + full));
  EXPECT_FALSE(final_with(full + full));
}

TEST(Scram, TheClientRefusesAServerThatDoesNotContinueItsNonceOrIteratesTooLittle) {
  scram_client c(scram_mechanism::sha256, "u", "p", "abc");
  EXPECT_FALSE(c.client_final("r=xyz123,s=QUJD,i=4096"));
  EXPECT_FALSE(c.client_final("r=abc,s=QUJD,i=4096"));
  EXPECT_FALSE(c.client_final("r=abcdef,s=QUJD,i=100"));
  EXPECT_FALSE(c.client_final("r=abcdef,s=!!,i=4096"));
  EXPECT_FALSE(c.client_final("r=abcdef,s=QUJD"));
  EXPECT_TRUE(c.client_final("r=abcdef,s=QUJD,i=4096"));
}

TEST(Scram, PasswordMatchesChecksAgainstTheStoredKeys) {
  const auto cred = scram_credential_from_password(scram_mechanism::sha512, "correct horse");
  EXPECT_TRUE(password_matches(cred, "correct horse"));
  EXPECT_FALSE(password_matches(cred, "correct horsE"));
  EXPECT_FALSE(password_matches(cred, ""));
  EXPECT_NE(scram_credential_from_password(scram_mechanism::sha512, "correct horse").salt, cred.salt);
}

// The authorization id is the session's to judge (after the password, with Kafka's words):
// parsing hands it over, whatever it names.
TEST(Plain, ParsesTheThreeFieldsAndRefusesEverythingElse) {
  auto ok = parse_plain(std::string_view("\0alice\0pw", 9));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->username, "alice");
  EXPECT_EQ(ok->password, "pw");
  EXPECT_EQ(ok->authzid, "");
  auto same = parse_plain(std::string_view("alice\0alice\0pw", 14));
  ASSERT_TRUE(same);
  EXPECT_EQ(same->authzid, "alice");
  auto other = parse_plain(std::string_view("bob\0alice\0pw", 12));
  ASSERT_TRUE(other);
  EXPECT_EQ(other->username, "alice");
  EXPECT_EQ(other->authzid, "bob");
  for (std::string_view bad : {std::string_view(""), std::string_view("alice"), std::string_view("\0alice", 6),
                               std::string_view("\0\0pw", 4), std::string_view("\0alice\0", 7),
                               std::string_view("\0alice\0p\0w", 10)})
    EXPECT_EQ(parse_plain(bad).error(), make_error_code(errc::authentication_failed));
  EXPECT_FALSE(parse_plain("\0" + std::string(256, 'u') + std::string("\0pw", 3)));
}
