// A client certificate's subject as Kafka writes its principal (Java's
// X500Principal.getName()), so that ACLs and super users copied from a Kafka cluster match.
// Every expectation is what Java prints for the same encoded name.

#include <gtest/gtest.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "actors/connections/transport/x500_principal_name.hpp"

using namespace portask;
using namespace std::string_literals;

namespace {

struct free_name {
  void operator()(X509_NAME* name) const { X509_NAME_free(name); }
};
using owned_name = std::unique_ptr<X509_NAME, free_name>;

struct ava {
  std::string field;  // OpenSSL's short or long name, or a dotted OID
  std::string value;  // the bytes
  int type;           // MBSTRING_UTF8: OpenSSL picks the tag (as `openssl req` does); else the tag
  bool joins_previous_rdn;
};

ava text(std::string field, std::string value) { return ava{std::move(field), std::move(value), MBSTRING_UTF8, false}; }
ava tagged(std::string field, std::string value, int tag) { return ava{std::move(field), std::move(value), tag, false}; }
ava joined(ava a) {
  a.joins_previous_rdn = true;
  return a;
}

// The AVAs in the order a certificate lists them (the first is the most significant).
std::string written(const std::vector<ava>& avas) {
  const owned_name name{X509_NAME_new()};
  for (const ava& a : avas) {
    const int added = X509_NAME_add_entry_by_txt(
        name.get(), a.field.c_str(), a.type, reinterpret_cast<const unsigned char*>(a.value.data()),
        static_cast<int>(a.value.size()), -1, a.joins_previous_rdn ? -1 : 0);
    EXPECT_EQ(added, 1) << a.field;
  }
  return x500_principal_name(name.get());
}

}  // namespace

TEST(X500PrincipalName, CommonNameAlone) { EXPECT_EQ(written({text("CN", "frank")}), "CN=frank"); }

TEST(X500PrincipalName, JavaKeywordsInReverseOrder) {
  EXPECT_EQ(written({text("CN", "frank"), text("O", "Portask"), text("OU", "Ops"), text("C", "DE"),
                     text("L", "Munich"), text("ST", "Bavaria"), text("DC", "example"),
                     text("UID", "frank"), text("street", "1 Main St")}),
            "STREET=1 Main St,UID=frank,DC=example,ST=Bavaria,L=Munich,C=DE,OU=Ops,O=Portask,CN=frank");
}

TEST(X500PrincipalName, EmailAddressIsItsOidAndDerHexAsInKafka) {
  EXPECT_EQ(written({text("CN", "frank"), text("emailAddress", "frank@example.com")}),
            "1.2.840.113549.1.9.1=#16116672616e6b406578616d706c652e636f6d,CN=frank");
}

TEST(X500PrincipalName, OtherAttributeTypesAreTheirOidAndDerHex) {
  EXPECT_EQ(written({text("CN", "frank"), text("serialNumber", "1234")}), "2.5.4.5=#130431323334,CN=frank");
  EXPECT_EQ(written({text("CN", "frank"), text("title", "Boss")}), "2.5.4.12=#0c04426f7373,CN=frank");
  EXPECT_EQ(written({text("CN", "frank"), text("1.2.3.4", "x")}), "1.2.3.4=#0c0178,CN=frank");
}

TEST(X500PrincipalName, KeywordWithATagJavaDoesNotReadAsTextIsDerHex) {
  EXPECT_EQ(written({tagged("CN", "42", V_ASN1_NUMERICSTRING)}), "CN=#12023432");
}

TEST(X500PrincipalName, MultiValuedRdnInEncodedOrderJoinedByPlus) {
  // Added O first; DER orders the SET by encoding, and the shorter CN encodes first.
  EXPECT_EQ(written({text("C", "DE"), text("O", "Portask"), joined(text("CN", "frank"))}),
            "CN=frank+O=Portask,C=DE");
}

TEST(X500PrincipalName, ParsedNameKeepsTheOrderItWasEncodedIn) {
  // C=DE, then one RDN whose SET lists O before CN (not DER's order), as a certificate
  // might: Java writes the AVAs in the order they come.
  const std::string der =
      "\x30\x2d\x31\x0b\x30\x09\x06\x03\x55\x04\x06\x13\x02\x44\x45\x31\x1e\x30\x0e\x06\x03\x55"
      "\x04\x0a\x0c\x07Portask\x30\x0c\x06\x03\x55\x04\x03\x0c\x05"
      "frank"s;
  const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
  const owned_name name{d2i_X509_NAME(nullptr, &cursor, static_cast<long>(der.size()))};
  ASSERT_NE(name.get(), nullptr);
  EXPECT_EQ(x500_principal_name(name.get()), "O=Portask+CN=frank,C=DE");
}

TEST(X500PrincipalName, SpecialCharactersEscapedAsJavaDoes) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"a,b", R"(CN=a\,b)"},
      {"a+b", R"(CN=a\+b)"},
      {R"(say "hi")", R"(CN=say \"hi\")"},
      {R"(back\slash)", R"(CN=back\\slash)"},
      {"#lead", R"(CN=\#lead)"},
      {"a#b", R"(CN=a\#b)"},  // Java escapes '#' anywhere, not only first
      {"a=b;c", R"(CN=a\=b\;c)"},
      {"<x>", R"(CN=\<x\>)"},
      {" lead and trail ", R"(CN=\ lead and trail\ )"},
      {"  two  ", R"(CN=\ \ two\ \ )"},
      {" ", R"(CN=\ )"},
      {"x\r", "CN=x\\\r"},
      {"a\0b"s, R"(CN=a\00b)"},
  };
  for (const auto& [value, expected] : cases) EXPECT_EQ(written({text("CN", value)}), expected) << value;
}

TEST(X500PrincipalName, Utf8KeptAsIs) {
  EXPECT_EQ(written({text("CN", "Jürgen Łódź 日本")}), "CN=Jürgen Łódź 日本");
  EXPECT_EQ(written({text("O", "Café, Ltd")}), R"(O=Café\, Ltd)");
}

TEST(X500PrincipalName, OtherStringTagsReadAsTheirCharacterSets) {
  // BMPString is UTF-16 (big endian); the 8-bit string types are ISO-8859-1.
  EXPECT_EQ(written({tagged("CN", "\x4e\x2d\x65\x87", V_ASN1_BMPSTRING)}), "CN=中文");
  EXPECT_EQ(written({tagged("CN", "\x00\xe9\x00,"s, V_ASN1_BMPSTRING)}), R"(CN=é\,)");
  EXPECT_EQ(written({tagged("CN", "\x00\x00"s, V_ASN1_BMPSTRING)}), R"(CN=\00)");
  EXPECT_EQ(written({tagged("CN", "caf\xe9", V_ASN1_PRINTABLESTRING)}), "CN=café");
  EXPECT_EQ(written({tagged("CN", "\xff,", V_ASN1_IA5STRING)}), R"(CN=ÿ\,)");
  EXPECT_EQ(written({tagged("CN", "abc", V_ASN1_T61STRING)}), "CN=abc");
}

TEST(X500PrincipalName, EmptyNameIsEmpty) {
  EXPECT_EQ(written({}), "");
  EXPECT_EQ(x500_principal_name(nullptr), "");
}
