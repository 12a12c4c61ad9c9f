// The passwords HTTP Basic verified recently (password_cache), with the time passed in: a
// right password is derived once and then served from the cache; a wrong one never is, nor
// displaces the right one; any change to the user's credentials, or the entry's age, makes it
// stale; the cache holds at most its capacity; the snapshot it checks against is looked up
// by a view of the user name. Then check_http_caller going through it, and how it reads the
// Authorization header.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "actors/connections/http/http_auth.hpp"
#include "actors/security/access_control.hpp"
#include "actors/security/password_cache.hpp"
#include "protocol/base64.hpp"

using namespace portask;
using namespace std::chrono_literals;
namespace sec = portask::protocol::security;

namespace {

using users = std::vector<std::pair<std::string, sec::scram_credential>>;

security_snapshot snapshot_of(const users& credentials) {
  security_snapshot s;
  s.loaded = true;
  for (const auto& [user, c] : credentials)
    s.credentials.emplace(security_snapshot::credential_key{user, c.mechanism}, c);
  return s;
}

sec::scram_credential sha256(std::string_view password) {
  return sec::scram_credential_from_password(sec::scram_mechanism::sha256, password);
}

sec::scram_credential sha512(std::string_view password) {
  return sec::scram_credential_from_password(sec::scram_mechanism::sha512, password);
}

const auto t0 = std::chrono::steady_clock::time_point{} + 1h;  // only differences count

}  // namespace

TEST(PasswordCache, ARightPasswordIsDerivedOnceThenServedFromTheCache) {
  password_cache cache;
  const auto snap = snapshot_of({{"carol", sha256("pw")}, {"carol", sha512("pw")}});
  EXPECT_TRUE(cache.matches(snap, "carol", "pw", t0));
  EXPECT_EQ(cache.derivations(), 1u);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_TRUE(cache.matches(snap, "carol", "pw", t0 + 1s));
  EXPECT_TRUE(cache.matches(snap, "carol", "pw", t0 + 4min));
  EXPECT_EQ(cache.derivations(), 1u);
}

TEST(PasswordCache, AWrongPasswordIsNeverAcceptedNorKept) {
  password_cache cache;
  const auto snap = snapshot_of({{"carol", sha256("pw")}, {"dave", sha256("other")}});
  ASSERT_TRUE(cache.matches(snap, "carol", "pw", t0));
  // Not "pw" followed by NULs: PBKDF2 keys HMAC with the password, and HMAC pads a short key
  // with zero bytes, so that is the same password to SCRAM (and to Kafka) as well.
  const std::vector<std::string> wrong{"pW", "pw ", "", "p", "pw1", "other"};
  for (const auto& password : wrong)
    EXPECT_FALSE(cache.matches(snap, "carol", password, t0 + 1s)) << password;
  EXPECT_EQ(cache.derivations(), 1 + wrong.size()) << "each wrong password is derived in full";
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_TRUE(cache.matches(snap, "carol", "pw", t0 + 2s)) << "nor does it displace the right one";
  EXPECT_EQ(cache.derivations(), 1 + wrong.size());
  // Carol's cached password is nobody else's.
  EXPECT_FALSE(cache.matches(snap, "dave", "pw", t0 + 3s));
  EXPECT_FALSE(cache.matches(snap, "nobody", "pw", t0 + 3s));
  EXPECT_FALSE(cache.matches(snap, "Carol", "pw", t0 + 3s));
  EXPECT_EQ(cache.size(), 1u);
}

// A hit compares the entry with the credentials the snapshot holds, one by one: an equal
// snapshot built apart serves from the entry, where a wrong password is still refused; one
// credential fewer or more, or one key changed, is a miss.
TEST(PasswordCache, AHitIsDecidedByTheSnapshotsCredentialsAndThePassword) {
  password_cache cache;
  const auto snap = snapshot_of({{"carol", sha256("pw")}, {"carol", sha512("pw")}});
  const auto& carol_256 = snap.credentials.at({"carol", sec::scram_mechanism::sha256});
  const auto& carol_512 = snap.credentials.at({"carol", sec::scram_mechanism::sha512});
  ASSERT_TRUE(cache.matches(snap, "carol", "pw", t0));
  const auto equal = snapshot_of({{"carol", carol_256}, {"carol", carol_512}});
  EXPECT_TRUE(cache.matches(equal, "carol", "pw", t0 + 1s));
  EXPECT_EQ(cache.derivations(), 1u) << "an equal snapshot is a hit";
  EXPECT_FALSE(cache.matches(equal, "carol", "pW", t0 + 2s));
  EXPECT_FALSE(cache.matches(equal, "carol", "", t0 + 2s));
  EXPECT_EQ(cache.derivations(), 3u) << "a wrong password on a hit is derived, and refused";
  EXPECT_TRUE(cache.matches(equal, "carol", "pw", t0 + 3s));
  EXPECT_EQ(cache.derivations(), 3u);
  // The SHA-512 credential deleted: still right through SHA-256, but checked again.
  const auto fewer = snapshot_of({{"carol", carol_256}});
  EXPECT_TRUE(cache.matches(fewer, "carol", "pw", t0 + 4s));
  EXPECT_EQ(cache.derivations(), 4u);
  // The entry now holds one credential; the snapshot with both is not it.
  EXPECT_TRUE(cache.matches(snap, "carol", "pw", t0 + 5s));
  EXPECT_EQ(cache.derivations(), 5u);
  // The same salt and iterations with another server key (a credential replaced by hand).
  auto altered_512 = carol_512;
  altered_512.server_key.back() = static_cast<char>(altered_512.server_key.back() ^ 1);
  const auto altered = snapshot_of({{"carol", carol_256}, {"carol", altered_512}});
  EXPECT_TRUE(cache.matches(altered, "carol", "pw", t0 + 6s)) << "SHA-256 still holds the password";
  EXPECT_EQ(cache.derivations(), 6u);
  EXPECT_TRUE(cache.matches(altered, "carol", "pw", t0 + 7s));
  EXPECT_EQ(cache.derivations(), 6u);
  EXPECT_FALSE(cache.matches(altered, "carol", "pW", t0 + 8s));
  EXPECT_EQ(cache.size(), 1u);
}

// AlterUserScramCredentials and portask-cli replace or delete a credential in the snapshot:
// the next request sees it, whatever the cache holds.
TEST(PasswordCache, AChangedOrDeletedCredentialMakesTheEntryStaleAtOnce) {
  password_cache cache;
  ASSERT_TRUE(cache.matches(snapshot_of({{"carol", sha256("old")}}), "carol", "old", t0));
  // The same password with a fresh salt is another credential: derived again, and right.
  const auto resalted = snapshot_of({{"carol", sha256("old")}});
  EXPECT_TRUE(cache.matches(resalted, "carol", "old", t0 + 1s));
  EXPECT_EQ(cache.derivations(), 2u);
  // kafka-configs can add or change one mechanism alone: the old password still holds through
  // the other, checked again.
  const auto one_changed = snapshot_of({{"carol", resalted.credentials.begin()->second}, {"carol", sha512("new")}});
  EXPECT_TRUE(cache.matches(one_changed, "carol", "old", t0 + 2s));
  EXPECT_EQ(cache.derivations(), 3u);
  const auto changed = snapshot_of({{"carol", sha256("new")}, {"carol", sha512("new")}});
  EXPECT_FALSE(cache.matches(changed, "carol", "old", t0 + 3s));
  EXPECT_TRUE(cache.matches(changed, "carol", "new", t0 + 4s));
  EXPECT_EQ(cache.derivations(), 5u);
  EXPECT_FALSE(cache.matches(snapshot_of({}), "carol", "new", t0 + 5s)) << "deleted";
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_TRUE(cache.matches(changed, "carol", "new", t0 + 6s));
  EXPECT_EQ(cache.derivations(), 7u) << "the deletion dropped the entry";
}

// A hit looks the user's credentials up by a view of the name (no key is made): the view
// finds the entry the key finds, for a short name and one past the short-string buffer,
// and nothing for a mechanism the user lacks, another user, or a name one differs from by a
// letter or a case.
TEST(SecuritySnapshot, AViewOfTheNameFindsWhatItsKeyFinds) {
  constexpr auto s256 = sec::scram_mechanism::sha256;
  constexpr auto s512 = sec::scram_mechanism::sha512;
  const auto credential = [](sec::scram_mechanism m, std::string stored_key) {
    return sec::scram_credential{m, "salt", sec::scram_min_iterations, std::move(stored_key), "server"};
  };
  const std::string long_name = "a-user-whose-name-is-longer-than-a-short-string";
  const auto snap = snapshot_of({{"carol", credential(s256, "carol-256")},
                                 {"carol", credential(s512, "carol-512")},
                                 {"dave", credential(s512, "dave-512")},
                                 {long_name, credential(s256, "long-256")}});
  const std::vector<std::pair<std::string, sec::scram_mechanism>> present{
      {"carol", s256}, {"carol", s512}, {"dave", s512}, {long_name, s256}};
  for (const auto& [user, m] : present) {
    const auto by_key = snap.credentials.find(security_snapshot::credential_key{user, m});
    const auto by_view = snap.credentials.find(security_snapshot::credential_view{user, m});
    ASSERT_TRUE(by_key != snap.credentials.end()) << user;
    EXPECT_TRUE(by_view == by_key) << user;
    EXPECT_EQ(snap.credential(user, m), &by_key->second) << user;
  }
  const std::vector<std::pair<std::string, sec::scram_mechanism>> absent{
      {"dave", s256}, {long_name, s512}, {"Carol", s256}, {"caro", s256}, {"carols", s512}, {"", s256}};
  for (const auto& [user, m] : absent) {
    EXPECT_TRUE(snap.credentials.find(security_snapshot::credential_view{user, m}) == snap.credentials.end()) << user;
    EXPECT_EQ(snap.credential(user, m), nullptr) << user;
  }
}

TEST(PasswordCache, ItHoldsAtMostItsCapacityAndEntriesExpire) {
  password_cache cache{3, 5min};
  users credentials;
  for (int i = 0; i < 5; ++i) credentials.emplace_back("u" + std::to_string(i), sha256("pw" + std::to_string(i)));
  const auto snap = snapshot_of(credentials);
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(cache.matches(snap, "u" + std::to_string(i), "pw" + std::to_string(i), t0 + i * 1s));
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.derivations(), 5u);
  // The three verified last are kept ...
  for (const char* user : {"u2", "u3", "u4"})
    EXPECT_TRUE(cache.matches(snap, user, std::string("pw") + user[1], t0 + 10s));
  EXPECT_EQ(cache.derivations(), 5u);
  // ... the first two left, the oldest first.
  EXPECT_TRUE(cache.matches(snap, "u0", "pw0", t0 + 10s));
  EXPECT_EQ(cache.derivations(), 6u);
  EXPECT_EQ(cache.size(), 3u);
  // An entry serves for its lifetime from its verification (u3's at 3s, u4's at 4s), not longer.
  EXPECT_TRUE(cache.matches(snap, "u3", "pw3", t0 + 3s + 5min - 1ms));
  EXPECT_EQ(cache.derivations(), 6u);
  EXPECT_TRUE(cache.matches(snap, "u4", "pw4", t0 + 4s + 5min));
  EXPECT_EQ(cache.derivations(), 7u);
  EXPECT_EQ(cache.size(), 2u) << "u3's expired entry left with it; u0 and u4 remain";
}

// The HTTP API's check goes through the broker's cache: a console's repeated requests derive
// the password once, a changed password is refused on the next request, and failures still
// count on the brake.
TEST(HttpAuth, BasicCredentialsAreDerivedOnceAndAChangedPasswordIsRefusedAtOnce) {
  security_config sc;
  sc.authorization = true;
  sc.max_failed_authentications_per_minute = 2;
  access_control access{sc};
  auto publish = [&](std::string_view password) {
    auto s = std::make_shared<security_snapshot>(snapshot_of({{"carol", sha256(password)}}));
    s->acls = sec::authorizer({}, {"User:carol"}, false);
    access.publish(std::move(s));
  };
  auto basic = [](std::string_view user_and_password) {
    return "Basic " + protocol::base64_encode(user_and_password);
  };
  publish("pw");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(check_http_caller(access, basic("carol:pw"), "192.0.2.1").status, 200u);
  EXPECT_EQ(access.passwords().derivations(), 1u);
  EXPECT_EQ(check_http_caller(access, basic("carol:pW"), "192.0.2.1").status, 401u);
  publish("new");
  EXPECT_EQ(check_http_caller(access, basic("carol:pw"), "192.0.2.1").status, 401u);
  EXPECT_EQ(check_http_caller(access, basic("carol:new"), "192.0.2.1").status, 429u)
      << "two failures: the brake holds the address back, cached password or not";
  EXPECT_EQ(check_http_caller(access, basic("carol:new"), "192.0.2.2").status, 200u);
  EXPECT_EQ(access.passwords().derivations(), 4u);
}

// RFC 9110: the scheme's name in any case, then one space or more before the credentials.
// RFC 7617's base64 keeps its padding: without it the credentials do not decode.
TEST(HttpAuth, TheSchemeIsCaseInsensitiveAndSeveralSpacesMayFollowIt) {
  security_config sc;
  sc.authorization = true;
  access_control access{sc};
  auto s = std::make_shared<security_snapshot>(snapshot_of({{"carol", sha256("pw")}}));
  s->acls = sec::authorizer({}, {"User:carol"}, false);
  access.publish(std::move(s));
  const auto credentials = protocol::base64_encode("carol:pw");
  ASSERT_EQ(credentials.back(), '=');
  for (const std::string scheme : {"Basic ", "basic ", "BASIC  ", "bAsIc    "})
    EXPECT_EQ(check_http_caller(access, scheme + credentials, "192.0.2.1").status, 200u) << "'" << scheme << "'";
  for (const auto& header : {std::string("Basic"), std::string("Basic   "), "Basicx" + credentials,
                             "Bearer " + credentials}) {
    const auto verdict = check_http_caller(access, header, "192.0.2.1");
    EXPECT_EQ(verdict.status, 401u) << header;
    EXPECT_EQ(verdict.why, "only HTTP Basic credentials are accepted") << header;
  }
  const auto unpadded = check_http_caller(access, "Basic " + credentials.substr(0, credentials.find('=')), "192.0.2.1");
  EXPECT_EQ(unpadded.status, 401u);
  EXPECT_EQ(unpadded.why, "invalid credentials");
}
