#include "actors/connections/transport/x500_principal_name.hpp"

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

// The rules, from OpenJDK's sun.security.x509 (X500Principal.getName() is
// X500Name.getRFC2253Name()), checked against JDK 17.0.15 and 25:
// - X500Name.generateRFC2253DN: the RDNs last to first, joined by ','.
// - RDN.toRFC2253StringInternal (not canonical): a multi-valued RDN's AVAs joined by '+' in
//   the order they are encoded (DerInputStream.getSet; only the canonical form sorts). DER
//   sorts a SET OF by encoding, so that is the certificate's order.
// - AVAKeyword: only CN, C, L, ST, O, OU, STREET, DC and UID are RFC 2253 keywords; any other
//   type is written as its dotted OID.
// - AVA.toRFC2253String: a value is '#' + the lowercase hex of its DER encoding (tag, length,
//   content) when the type is a dotted OID or the tag is not PrintableString, T61String,
//   IA5String, GeneralString, BMPString or UTF8String (isDerString, not canonical).
//   Otherwise it is read as text (AVA.getCharset: UTF8String as UTF-8, BMPString as
//   UTF-16BE, the others as ISO-8859-1; JDK 11 and 17.0.15 read every tag as UTF-8, which
//   differs only for non-ASCII content outside UTF8String). In that text a backslash goes
//   before each of , = + < > # ; " and \ (anywhere in the value: '#' and '=' too), NUL is
//   written \00 and every other character as it is (non-printable and non-ASCII ones too:
//   no \XX escapes); then a backslash goes before each ' ' or '\r' that comes before the
//   first other character or after the last.

namespace portask {

namespace {

struct free_name {
  void operator()(X509_NAME* name) const { X509_NAME_free(name); }
};
struct free_bytes {
  void operator()(unsigned char* bytes) const { OPENSSL_free(bytes); }
};
using owned_name = std::unique_ptr<X509_NAME, free_name>;
using owned_bytes = std::unique_ptr<unsigned char, free_bytes>;

const char* java_keyword(int nid) {
  switch (nid) {
    case NID_commonName: return "CN";
    case NID_countryName: return "C";
    case NID_localityName: return "L";
    case NID_stateOrProvinceName: return "ST";
    case NID_organizationName: return "O";
    case NID_organizationalUnitName: return "OU";
    case NID_streetAddress: return "STREET";
    case NID_domainComponent: return "DC";
    case NID_userId: return "UID";
    default: return nullptr;
  }
}

bool java_string_tag(int type) {
  switch (type) {
    case V_ASN1_PRINTABLESTRING:
    case V_ASN1_T61STRING:
    case V_ASN1_IA5STRING:
    case V_ASN1_GENERALSTRING:
    case V_ASN1_BMPSTRING:
    case V_ASN1_UTF8STRING: return true;
    default: return false;
  }
}

std::string dotted_oid(const ASN1_OBJECT* oid) {
  const int length = OBJ_obj2txt(nullptr, 0, oid, 1);
  if (length <= 0) return {};
  std::string text(static_cast<std::size_t>(length) + 1, '\0');
  OBJ_obj2txt(text.data(), length + 1, oid, 1);
  text.resize(static_cast<std::size_t>(length));
  return text;
}

// The value's own DER (an ASN1_PRINTABLE is how OpenSSL encodes it inside the name).
bool append_hex_der(std::string& out, const ASN1_STRING* value) {
  unsigned char* der = nullptr;
  const int length = i2d_ASN1_PRINTABLE(value, &der);
  if (length <= 0) return false;
  const owned_bytes hold{der};
  static constexpr char digits[] = "0123456789abcdef";
  out += '#';
  for (int i = 0; i < length; ++i) {
    out += digits[der[i] >> 4];
    out += digits[der[i] & 0x0f];
  }
  return true;
}

void append_utf8(std::string& out, unsigned code_point) {
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    out += static_cast<char>(0xC0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (code_point >> 12));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  }
}

// The value's characters, in UTF-8. The name read here is one OpenSSL has just parsed, and
// OpenSSL refuses a name whose UTF8String is not UTF-8 or whose BMPString is not whole
// 2-byte characters outside the surrogates (it converts every string to canonicalise the
// name); so those need no checks here beyond U+FFFD for what cannot occur.
std::string java_text(const ASN1_STRING* value) {
  const unsigned char* bytes = ASN1_STRING_get0_data(value);
  const auto size = static_cast<std::size_t>(ASN1_STRING_length(value));
  std::string text;
  switch (ASN1_STRING_type(value)) {
    case V_ASN1_UTF8STRING:
      text.assign(reinterpret_cast<const char*>(bytes), size);
      break;
    case V_ASN1_BMPSTRING:
      for (std::size_t i = 0; i < size; i += 2) {
        const unsigned unit = i + 1 < size ? (unsigned{bytes[i]} << 8) | bytes[i + 1] : 0xFFFDu;
        append_utf8(text, unit >= 0xD800 && unit <= 0xDFFF ? 0xFFFDu : unit);
      }
      break;
    default:  // the 8-bit types, read as ISO-8859-1
      for (std::size_t i = 0; i < size; ++i) append_utf8(text, bytes[i]);
      break;
  }
  return text;
}

void append_escaped(std::string& out, std::string_view text) {
  static constexpr std::string_view escapees = ",=+<>#;\"\\";
  std::string escaped;
  escaped.reserve(text.size());
  for (const char c : text) {
    if (escapees.find(c) != std::string_view::npos) {
      escaped += '\\';
      escaped += c;
    } else if (c == '\0') {
      escaped += "\\00";
    } else {
      escaped += c;
    }
  }
  const auto blank = [](char c) { return c == ' ' || c == '\r'; };
  std::size_t first = 0;
  while (first < escaped.size() && blank(escaped[first])) ++first;
  std::size_t end = escaped.size();
  while (end > first && blank(escaped[end - 1])) --end;
  for (std::size_t i = 0; i < escaped.size(); ++i) {
    if (i < first || i >= end) out += '\\';
    out += escaped[i];
  }
}

bool append_ava(std::string& out, const X509_NAME_ENTRY* entry) {
  const ASN1_OBJECT* oid = X509_NAME_ENTRY_get_object(entry);
  const ASN1_STRING* value = X509_NAME_ENTRY_get_data(entry);
  if (oid == nullptr || value == nullptr) return false;
  const char* keyword = java_keyword(OBJ_obj2nid(oid));
  if (keyword != nullptr) {
    out += keyword;
  } else {
    const std::string dotted = dotted_oid(oid);
    if (dotted.empty()) return false;
    out += dotted;
  }
  out += '=';
  if (keyword == nullptr || !java_string_tag(ASN1_STRING_type(value))) return append_hex_der(out, value);
  append_escaped(out, java_text(value));
  return true;
}

}  // namespace

std::string x500_principal_name(const X509_NAME* name) {
  if (name == nullptr) return {};
  // Java reads the name as encoded. A parsed certificate's name encodes to the bytes it was
  // read from; one built in memory is encoded as DER, which sorts each RDN's AVAs. Reading
  // that encoding back gives the AVAs in the order Java sees them.
  unsigned char* der = nullptr;
  const int size = i2d_X509_NAME(name, &der);
  if (size <= 0) return {};
  const owned_bytes hold{der};
  const unsigned char* cursor = der;
  const owned_name encoded{d2i_X509_NAME(nullptr, &cursor, size)};
  if (!encoded) return {};

  std::vector<std::vector<const X509_NAME_ENTRY*>> rdns;
  int rdn_index = -1;
  const int entries = X509_NAME_entry_count(encoded.get());
  for (int i = 0; i < entries; ++i) {
    const X509_NAME_ENTRY* entry = X509_NAME_get_entry(encoded.get(), i);
    if (rdns.empty() || X509_NAME_ENTRY_set(entry) != rdn_index) {
      rdn_index = X509_NAME_ENTRY_set(entry);
      rdns.emplace_back();
    }
    rdns.back().push_back(entry);
  }

  std::string out;
  for (auto rdn = rdns.rbegin(); rdn != rdns.rend(); ++rdn) {
    if (rdn != rdns.rbegin()) out += ',';
    for (std::size_t i = 0; i < rdn->size(); ++i) {
      if (i > 0) out += '+';
      if (!append_ava(out, (*rdn)[i])) return {};
    }
  }
  return out;
}

}  // namespace portask
