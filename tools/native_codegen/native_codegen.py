#!/usr/bin/env python3
"""Generates the native protocol's code and documentation from protocol/native_schema.json.

Usage:
  native_codegen.py SCHEMA --cpp OUT_HPP OUT_CPP OUT_SAMPLES_HPP OUT_TYPES_HPP
  native_codegen.py SCHEMA --docs DOC.md [--check]

--cpp writes the structs, encoders and decoders (namespace portask::protocol::native), a
test-only header with sample values and traits for every message (every variant: each value
of a switching enum, each optional flag bit on and off, trailing groups present and absent),
and the header of the frame header's constants, message types, frame flags and error codes
(frame_magic, frame_version, frame_header_size, max_reserved_type, message_type, frame_flags,
errc and the names, messages and retriable flags behind is_known_type, to_string and
is_retriable).
--docs rewrites the tables between `<!-- schema: SECTION -->` and `<!-- /schema -->` in DOC.md
(SECTION: a message's section, or frame, message_types, flags or errors); with --check it only
reports (exit 1) when DOC.md is not what the schema says.
"""
import json
import sys
import textwrap

SCALARS = {  # wire type -> (C++ type, writer expression, reader, min bytes)
    "u8": ("std::uint8_t", 1), "u16": ("std::uint16_t", 2), "u32": ("std::uint32_t", 4),
    "i16": ("std::int16_t", 2), "i32": ("std::int32_t", 4), "i64": ("std::int64_t", 8),
    "bool": ("bool", 1), "string": ("std::string", 2), "bytes32": ("byte_view", 4),
    "rest": ("byte_view", 0),
}

DIRECTIONS = {"to_broker": "client → broker", "to_client": "broker → client", "both": "both"}


class Schema:
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
        self.enums = {e["name"]: e for e in d["enums"]}
        self.structs = {s["name"]: s for s in d["structs"]}
        self.messages = d["messages"]
        self.all = dict(self.structs)
        for m in self.messages:
            self.all[m["name"]] = m
        for s in self.all.values():
            self.check(s)
        self.frame = d["frame"]
        self.types = d["message_types"]["types"]
        self.type_doc = d["message_types"]["doc"]
        self.flags = d["flags"]["bits"]
        self.flags_doc = d["flags"]["doc"]
        self.error_groups = d["errors"]["groups"]
        self.errors = d["errors"]["codes"]
        self.errors_doc = d["errors"]["doc"]
        self.check_tables()

    def check_tables(self):
        # The values are wire constants that clients hard-code: a duplicate or a typo here would
        # be a protocol change, so the generator refuses rather than trusts.
        self.check_frame()
        codes = [int(t["code"], 16) for t in self.types]
        assert [t["code"] for t in self.types] == [f"0x{c:02X}" for c in codes], \
            "message_types: codes are written 0xNN"
        assert codes == sorted(set(codes)) and 0 < codes[0] and codes[-1] <= 0xFF, \
            "message_types: codes must be distinct u8 values, in order"
        assert codes[-1] <= int(self.frame["max_reserved_type"], 16), \
            "message_types: a code above frame.max_reserved_type"
        assert len({t["name"] for t in self.types}) == len(self.types), "message_types: a name twice"
        for t in self.types:
            assert t["direction"] in DIRECTIONS, f"message type {t['name']}: bad direction"
        names = {t["name"] for t in self.types}
        for m in self.messages:
            if m["kind"] != "body":
                assert m["frame_type"] in names, f"{m['name']}: unknown frame_type"
            assert m.get("section") not in DOC_TABLES, f"{m['name']}: section name taken"
        used = 0
        for b in self.flags:  # in bit order, each bit described once
            first, last = (b["bit"], b["bit"]) if "bit" in b else (b["first"], b["last"])
            mask = ((1 << (last + 1)) - 1) & ~((1 << first) - 1)
            assert 0 <= first <= last < 16 and mask > used and not mask & used, \
                f"flags: bits {first}-{last} overlap or are out of order"
            assert ("bit" in b) == ("name" in b), f"flags: bits {first}-{last}: a name is for one bit"
            used |= mask
        codes = [e["code"] for e in self.errors]
        assert codes == sorted(set(codes)) and codes[0] == 0, "errors: codes must be distinct, in order"
        assert len({e["name"] for e in self.errors}) == len(self.errors), "errors: a name twice"
        for e in self.errors:
            groups = [g for g in self.error_groups if g["first"] <= e["code"] <= g["last"]]
            assert e["code"] == 0 or len(groups) == 1, f"errors: {e['name']} is not in exactly one group"
            assert e["message"] and e["message"].isascii(), f"errors: {e['name']} needs a message"

    def check_frame(self):
        # Offsets are computed from the sizes, so a wrong size would move every later field:
        # the sizes must fill exactly the header, and only the payload may follow it.
        f = self.frame
        *header, payload = f["fields"]
        sizes = [h["size"] for h in header]
        assert all(isinstance(n, int) and n in (1, 2, 4) for n in sizes), \
            "frame: a header field's size is 1, 2 or 4 bytes"
        assert sum(sizes) == f["header_size"], \
            f"frame: the fields' sizes add up to {sum(sizes)}, not header_size {f['header_size']}"
        assert payload["size"] in [h["name"] for h in header], \
            "frame: the last field (the payload) has the name of an earlier field as its size"
        assert len({h["name"] for h in f["fields"]}) == len(f["fields"]), "frame: a name twice"
        for h in header:
            if "value" in h:
                v = frame_value(h)
                assert not isinstance(h["value"], str) or h["value"] == f"0x{v:0{2 * h['size']}X}", \
                    f"frame: {h['name']}'s value is a number or written 0x with every digit"
                assert 0 <= v < 1 << (8 * h["size"]), f"frame: {h['name']}'s value does not fit"
        values = {h["name"]: frame_value(h) for h in header if "value" in h}
        assert set(values) == {"magic", "version"}, "frame: magic and version (only) have a value"
        text = values["magic"].to_bytes(4, "big").decode("ascii", "replace")
        assert text.isprintable() and f"`{text}`" in self.frame_field("magic").get("notes", ""), \
            "frame: the magic's notes name its ASCII bytes"
        reserved = f["max_reserved_type"]
        assert reserved == f"0x{int(reserved, 16):02X}" and int(reserved, 16) <= 0xFF, \
            "frame: max_reserved_type is a u8 written 0xNN"

    def frame_field(self, name):
        return next(h for h in self.frame["fields"] if h["name"] == name)

    def check(self, s):
        names = set()
        for f in s["fields"]:
            t = f["type"]
            names.add(f["name"])
            base = t[2:] if t.startswith("[]") else t
            if t.startswith("enum:"):
                assert base[5:] in self.enums, f"{s['name']}.{f['name']}: unknown enum"
            elif base not in SCALARS and base not in ("bits", "member") and base not in self.all:
                raise SystemExit(f"{s['name']}.{f['name']}: unknown type {t}")
            if t.startswith("[]"):
                c = f.get("count")
                assert c in ("u16", "u32") or c in names, f"{s['name']}.{f['name']}: bad count"
        trailing = [f.get("trailing", False) for f in s["fields"] if f["type"] != "member"]
        assert trailing == sorted(trailing), f"{s['name']}: trailing fields must come last"

    # -- sizes and types ---------------------------------------------------------------------
    def min_size(self, name):
        total = 0
        for f in self.all[name]["fields"]:
            if f["type"] == "member" or f.get("trailing") or f.get("ops") or f.get("if_bit"):
                continue
            total += self.field_min(f)
        return total

    def field_min(self, f):
        t = f["type"]
        if t.startswith("[]"):
            return {"u16": 2, "u32": 4}.get(f["count"], 0)
        if t.startswith("enum:") or t == "bits":
            return 1
        if t in SCALARS:
            return SCALARS[t][1]
        return self.min_size(t)

    def cpp_name(self, name):
        return self.all[name].get("cpp", name) if name in self.all else name

    def cpp_type(self, f):
        t = f["type"]
        if t == "member":
            return f["cpp"]
        if t.startswith("[]"):
            e = t[2:]
            inner = SCALARS[e][0] if e in SCALARS else self.cpp_name(e)
            return f"std::vector<{inner}>"
        if t.startswith("enum:"):
            base = t[5:]
        elif t in SCALARS:
            base = SCALARS[t][0]
        else:
            base = self.cpp_name(t)
        return f"std::optional<{base}>" if f.get("optional") else base


def member(f):
    return f.get("member", f["name"])


def frame_value(h):
    """A frame header field's value: JSON has no hexadecimal numbers, so the magic is a string."""
    v = h["value"]
    return int(v, 16) if isinstance(v, str) else v


def declares_member(f):
    return f["type"] != "bits" and "." not in member(f) and not f.get("column")


def struct_members(schema, s):
    """(C++ type, name, default, doc) of every member a generated struct declares."""
    out = []
    for f in s["fields"]:
        if f["type"] == "bits":
            for b in f["bits"]:
                if "member" in b:
                    out.append((b["cpp"], b["member"], b.get("default"), b.get("doc")))
            continue
        if not declares_member(f):
            continue
        default = f.get("default")
        if default is None and not f.get("optional"):
            t = f["type"]
            if t in ("u8", "u16", "u32", "i16", "i32", "i64"):
                default = "0"
            elif t == "bool":
                default = "false"
        out.append((schema.cpp_type(f), member(f), default, f.get("doc")))
    return out


def generated_structs(schema):
    """Struct definitions in dependency order (each after the structs it contains)."""
    order, seen = [], set()

    def visit(name):
        if name in seen or name not in schema.all:
            return
        seen.add(name)
        for f in schema.all[name]["fields"]:
            t = f["type"][2:] if f["type"].startswith("[]") else f["type"]
            visit(t)
        order.append(name)

    for name in list(schema.structs) + [m["name"] for m in schema.messages]:
        visit(name)
    return [n for n in order if "cpp" not in schema.all[n]]


# -- C++ -------------------------------------------------------------------------------------
def emit_header(schema):
    o = ["#pragma once",
         "// Generated by tools/native_codegen/native_codegen.py from protocol/native_schema.json.",
         "// Do not edit: change the schema.", "",
         "#include <algorithm>", "#include <cstdint>", "#include <optional>", "#include <string>",
         "#include <utility>", "#include <vector>", "",
         '#include "protocol/bytes.hpp"', '#include "protocol/expected.hpp"',
         '#include "protocol/message.hpp"', "",
         "namespace portask::protocol::native {", "",
         "inline constexpr std::int64_t latest_offset = -1;",
         "inline constexpr std::int64_t earliest_offset = -2;",
         "/// An idempotent producer's claim on a published batch (docs/protocol.md, \"Idempotent",
         "/// publishing\"): the partition stores the batch once and in sequence order.",
         "using publish_producer = producer_claim;", "",
         "inline bool same_bytes(byte_view a, byte_view b) noexcept {",
         "  return std::equal(a.begin(), a.end(), b.begin(), b.end());", "}", ""]
    for e in schema.enums.values():
        o.append(f"/// {e['doc']}.")
        vals = ", ".join(f"{n} = {v}" for n, v in e["values"])
        o.append(f"enum class {e['name']} : std::uint8_t {{ {vals} }};")
        o.append("")
    for name in generated_structs(schema):
        s = schema.all[name]
        members = struct_members(schema, s)
        if "section" in s:
            o.append(f"/// {s['section']}: {describe_kind(s)} (docs/protocol.md).")
        o.append(f"struct {name} {{")
        for cpp, n, default, doc in members:
            init = f" = {default}" if default is not None else ""
            comment = f"  ///< {doc}" if doc else ""
            o.append(f"  {cpp} {n}{init};{comment}")
        eq = " &&\n           ".join(
            f"same_bytes(a.{n}, b.{n})" if cpp == "byte_view" else f"a.{n} == b.{n}"
            for cpp, n, _, _ in members) or "true"
        o.append(f"  friend bool operator==(const {name}& a, const {name}& b) noexcept {{")
        o.append(f"    return {eq};")
        o.append("  }")
        o.append("};")
        o.append("")
    o.append("// -- encoders append a whole frame (requests, pushes) or a Response body; decoders")
    o.append("// -- parse a payload or body exactly (anything left over is malformed_payload). ---")
    for m in schema.messages:
        o.append(f"{encoder_signature(schema, m)};")
        o.append(f"{decoder_signature(schema, m)};")
        if m.get("validate"):
            o.append(f"/// The rules beyond the layout (written by hand in native_messages.cpp).")
            o.append(f"bool valid(const {m['name']}& m) noexcept;")
    o.append("")
    o.append("}  // namespace portask::protocol::native")
    return "\n".join(o) + "\n"


def describe_kind(m):
    return {"request": "request", "body": "Response body", "push": "pushed frame"}[m["kind"]]


def unwrapped(schema, m):
    f = m["fields"][0]
    return schema.cpp_type(f), member(f)


def encoder_name(m):
    return m.get("encoder", "encode_body" if m["kind"] == "body" else "encode")


def encoder_signature(schema, m):
    if m.get("unwrap"):
        cpp, n = unwrapped(schema, m)
        arg = f"{cpp} {n}" if cpp in ("std::uint32_t", "std::int64_t") else f"const {cpp}& {n}"
    else:
        arg = f"const {m['name']}& m"
    flags = f", std::uint16_t {m['frame_flags']}" if m.get("frame_flags") else ""
    return f"void {encoder_name(m)}(buffer& out, {arg}{flags})"


def decoder_signature(schema, m):
    result = unwrapped(schema, m)[0] if m.get("unwrap") else m["name"]
    what = "body" if m["kind"] == "body" else "payload"
    return f"expected<{result}> {m['decoder']}(byte_view {what})"


class Body:
    """The put_/get_ functions of one struct or message."""

    def __init__(self, schema, name):
        self.schema = schema
        self.s = schema.all[name]
        self.name = name
        self.count_of = {f["count"]: f for f in self.s["fields"]
                         if f["type"].startswith("[]") and f.get("count") not in ("u16", "u32")}
        self.switch = next((f for f in self.s["fields"] if f.get("switch")), None)
        self.bits = {b["name"]: b for f in self.s["fields"] if f["type"] == "bits" for b in f["bits"]}

    def acc(self, f, obj="m"):
        return f"{obj}.{member(f)}"

    def condition(self, f, reading):
        conds = []
        if f.get("ops"):
            enum = self.switch["type"][5:]
            conds.append(" || ".join(f"{self.acc(self.switch)} == {enum}::{v}" for v in f["ops"]))
        if f.get("if_bit"):
            b = self.bits[f["if_bit"]]
            conds.append(f"bit_{b['name']}" if reading else bit_value(b, "m"))
        return " && ".join(f"({c})" for c in conds)

    def put_value(self, t, expr, o, pad):
        if t in ("u8", "u16", "u32"):
            o.append(f"{pad}w.{t}({expr});")
        elif t in ("i16", "i32", "i64"):
            u = {"i16": "u16", "i32": "u32", "i64": "u64"}[t]
            o.append(f"{pad}w.{u}(static_cast<std::uint{t[1:]}_t>({expr}));")
        elif t == "bool":
            o.append(f"{pad}w.u8({expr} ? 1 : 0);")
        elif t == "string":
            o.append(f"{pad}w.str16({expr});")
        elif t == "bytes32":
            o.append(f"{pad}w.u32(static_cast<std::uint32_t>({expr}.size()));")
            o.append(f"{pad}w.raw({expr}.data(), {expr}.size());")
        elif t == "rest":
            o.append(f"{pad}w.raw({expr}.data(), {expr}.size());")
        elif t.startswith("enum:"):
            o.append(f"{pad}w.u8(static_cast<std::uint8_t>({expr}));")
        else:
            o.append(f"{pad}put_{t}(w, {expr});")

    def get_value(self, t, target, o, pad):
        """Appends statements reading a `t` into lvalue `target`; each returns false on failure."""
        if t in ("u8", "u16", "u32"):
            o.append(f"{pad}if (!in.r.{t}({target})) return false;")
        elif t in ("i16", "i32", "i64"):
            o.append(f"{pad}if (!get_signed(in.r, {target})) return false;")
        elif t == "bool":
            o.append(f"{pad}if (!get_bool(in, {target})) return false;")
        elif t == "string":
            o.append(f"{pad}if (!get_string(in, {target})) return false;")
        elif t == "bytes32":
            o.append(f"{pad}if (std::uint32_t n = 0; !in.r.u32(n) || !in.r.raw(n, {target})) return false;")
        elif t == "rest":
            o.append(f"{pad}in.r.raw(in.r.remaining(), {target});")
        elif t.startswith("enum:"):
            enum = t[5:]
            o.append(f"{pad}if (std::uint8_t v = 0; !in.r.u8(v)) {{")
            o.append(f"{pad}  return false;")
            o.append(f"{pad}}} else if (!known_{enum}(v)) {{")
            o.append(f"{pad}  return in.invalid();")
            o.append(f"{pad}}} else {{")
            o.append(f"{pad}  {target} = static_cast<{enum}>(v);")
            o.append(f"{pad}}}")
        else:
            o.append(f"{pad}if (!get_{t}(in, {target})) return false;")

    def put_field(self, f, o, pad):
        t = f["type"]
        if t == "member":
            return
        if t == "bits":
            parts = " | ".join(f"({bit_value(b, 'm')} ? {1 << b['bit']}u : 0u)" for b in f["bits"])
            o.append(f"{pad}w.u8(static_cast<std::uint8_t>({parts}));")
            return
        if f.get("column"):
            o.append(f"{pad}for (const auto& e : m.{f['column']}) {{")
            self.put_value(t, f"e.{f['name']}", o, pad + "  ")
            o.append(f"{pad}}}")
            return
        expr = self.acc(f)
        if f["name"] in self.count_of:
            arr = self.count_of[f["name"]]
            expr = f"static_cast<{self.schema.cpp_type(f)}>({self.acc(arr)}.size())"
        if t.startswith("[]"):
            e = t[2:]
            c = f["count"]
            if c in ("u16", "u32"):
                o.append(f"{pad}w.{c}(static_cast<std::uint{c[1:]}_t>({expr}.size()));")
            o.append(f"{pad}for (const auto& e : {expr}) {{")
            self.put_value(e, "e", o, pad + "  ")
            o.append(f"{pad}}}")
            return
        if f.get("optional"):
            expr = f"*{expr}"
        self.put_value(t, expr, o, pad)

    def array_field(self, name):
        return next(f for f in self.s["fields"] if f["name"] == name)

    def get_field(self, f, o, pad):
        t = f["type"]
        if t == "member":
            return
        if t == "bits":
            mask = sum(1 << b["bit"] for b in f["bits"])
            o.append(f"{pad}std::uint8_t bits = 0;")
            o.append(f"{pad}if (!in.r.u8(bits)) return false;")
            o.append(f"{pad}if (bits & ~{mask}u) return in.invalid();")
            for b in f["bits"]:
                if "member" in b:
                    o.append(f"{pad}m.{b['member']} = static_cast<{b['cpp']}>((bits >> {b['bit']}) & 1u);")
                else:
                    o.append(f"{pad}const bool bit_{b['name']} = (bits >> {b['bit']}) & 1u;")
            return
        if f.get("column"):
            o.append(f"{pad}for (auto& e : m.{f['column']}) {{")
            self.get_value(t, f"e.{f['name']}", o, pad + "  ")
            o.append(f"{pad}}}")
            return
        target = self.acc(f)
        if t.startswith("[]"):
            e = t[2:]
            c = f["count"]
            least = max(1, self.schema.field_min({"type": e, "count": "u32"}) if e in self.schema.all
                        else SCALARS[e][1])
            if c in ("u16", "u32"):
                o.append(f"{pad}std::uint{c[1:]}_t n_{f['name']} = 0;")
                o.append(f"{pad}if (!in.r.{c}(n_{f['name']})) return false;")
                n = f"n_{f['name']}"
            else:
                n = self.acc(self.array_field(c))
                o.append(f"{pad}if ({n} < 0) return in.malformed();")
            o.append(f"{pad}if (static_cast<std::size_t>({n}) > in.r.remaining() / {least}) return in.malformed();")
            o.append(f"{pad}{target}.resize(static_cast<std::size_t>({n}));")
            o.append(f"{pad}for (auto& e : {target}) {{")
            self.get_value(e, "e", o, pad + "  ")
            o.append(f"{pad}}}")
            return
        if f.get("optional"):
            o.append(f"{pad}{target}.emplace();")
            target = f"*{target}"
        self.get_value(t, target, o, pad)

    def trailing_present(self, fields):
        conds = []
        for f in fields:
            if f.get("optional"):
                conds.append(f"{self.acc(f)}.has_value()")
            elif f.get("column"):
                elem = self.schema.all[self.array_field(f["column"])["type"][2:]]
                default = next(d for _, n, d, _ in struct_members(self.schema, elem) if n == f["name"])
                conds.append(f"std::any_of(m.{f['column']}.begin(), m.{f['column']}.end(), "
                             f"[](const auto& e) {{ return e.{f['name']} != {default}; }})")
            elif f["type"].startswith("[]"):
                conds.append(f"!{self.acc(f)}.empty()")
            elif f["type"] == "string" and "default" not in f:
                conds.append(f"!{self.acc(f)}.empty()")
            else:
                conds.append(f"{self.acc(f)} != {f.get('default', '0')}")
        return " || ".join(conds)

    def emit_runs(self, fields, o, reading):
        """Consecutive fields under the same condition share one `if`."""
        i = 0
        while i < len(fields):
            cond = self.condition(fields[i], reading)
            j = i
            while j < len(fields) and self.condition(fields[j], reading) == cond:
                j += 1
            pad = "  "
            if cond:
                o.append(f"  if ({cond}) {{")
                pad = "    "
            for f in fields[i:j]:
                (self.get_field if reading else self.put_field)(f, o, pad)
            if cond:
                o.append("  }")
            i = j

    def emit(self, o):
        cpp = self.schema.cpp_name(self.name)
        fields = self.s["fields"]
        plain = [f for f in fields if not f.get("trailing")]
        trailing = [f for f in fields if f.get("trailing")]
        # put
        o.append(f"[[maybe_unused]] void put_{self.name}(wire_writer& w, const {cpp}& m) {{")
        self.emit_runs(plain, o, reading=False)
        if trailing:
            o.append(f"  if ({self.trailing_present(trailing)}) {{")
            for f in trailing:
                self.put_field(f, o, "    ")
            o.append("  }")
        o.append("}")
        o.append("")
        # get
        o.append(f"[[maybe_unused]] bool get_{self.name}(input& in, {cpp}& m) {{")
        self.emit_runs(plain, o, reading=True)
        if trailing:
            o.append("  if (!in.r.at_end()) {")
            for f in trailing:
                self.get_field(f, o, "    ")
            o.append("  }")
        for b in self.bits.values():
            if "present" in b:  # a flag that says fields follow must agree with what they say
                o.append(f"  if (bit_{b['name']} != m.{b['present']}) return in.invalid();")
        o.append("  return true;")
        o.append("}")
        o.append("")


def bit_value(b, obj):
    return f"{obj}.{b['member']}" if "member" in b else f"{obj}.{b['present']}"


PRELUDE = r"""
// The reader and whether a value was out of the schema's range (invalid_request) rather than
// short or inconsistent (malformed_payload). A request's strings must be UTF-8, as section 4
// defines them: the broker stores the group ids, topics and metadata it is sent, and Kafka
// clients cannot decode the answers that carry bytes that are not. An answer's strings are
// taken as they come: a group id a Kafka client chose is listed as it was given, and one such
// group must not make every answer that lists it unreadable.
struct input {
  wire_reader r;
  bool refused = false;
  bool utf8_strings = false;
  bool invalid() {
    refused = true;
    r.fail();
    return false;
  }
  bool malformed() {
    r.fail();
    return false;
  }
};

template <class T>
bool get_signed(wire_reader& r, T& v) {
  std::make_unsigned_t<T> u = 0;
  bool ok = false;
  if constexpr (sizeof(T) == 2) ok = r.u16(u);
  if constexpr (sizeof(T) == 4) ok = r.u32(u);
  if constexpr (sizeof(T) == 8) ok = r.u64(u);
  v = static_cast<T>(u);
  return ok;
}
// 0 or 1: a bool is an enumeration of two values, and another is one the protocol does not
// define (section 4).
bool get_bool(input& in, bool& v) {
  std::uint8_t b = 0;
  if (!in.r.u8(b)) return false;
  if (b > 1) return in.invalid();
  v = b != 0;
  return true;
}
bool get_string(input& in, std::string& s) {
  if (!in.r.str16(s)) return false;
  if (in.utf8_strings && !is_utf8(s)) return in.malformed();
  return true;
}

template <class T>
void framed(buffer& out, message_type type, std::uint16_t flags, const T& m,
            void (*put)(wire_writer&, const T&)) {
  const auto pos = begin_frame(out);
  wire_writer w{out};
  put(w, m);
  finish_frame(out, pos, type, flags);
}

template <class T>
expected<T> parse(byte_view payload, bool (*get)(input&, T&), bool request) {
  input in{wire_reader{payload}};
  in.utf8_strings = request;
  T m;
  if (!get(in, m) || !in.r.ok() || !in.r.at_end())
    return in.refused ? errc::invalid_request : errc::malformed_payload;
  return m;
}
"""


def emit_source(schema, header_name):
    o = ["// Generated by tools/native_codegen/native_codegen.py from protocol/native_schema.json.",
         f'#include "{header_name}"', "",
         "#include <algorithm>", "#include <limits>", "#include <type_traits>", "",
         '#include "protocol/frame.hpp"', '#include "protocol/utf8.hpp"', '#include "protocol/wire.hpp"', "",
         "namespace portask::protocol::native {", "namespace {"]
    o.append(PRELUDE)
    for e in schema.enums.values():
        vals = " || ".join(f"v == {v}" for _, v in e["values"])
        o.append(f"bool known_{e['name']}(std::uint8_t v) {{ return {vals}; }}")
    o.append("")
    order, seen = [], set()

    def visit(name):
        if name in seen:
            return
        seen.add(name)
        for f in schema.all[name]["fields"]:
            t = f["type"][2:] if f["type"].startswith("[]") else f["type"]
            if t in schema.all:
                visit(t)
        order.append(name)

    for name in list(schema.structs) + [m["name"] for m in schema.messages]:
        visit(name)
    for name in order:
        Body(schema, name).emit(o)
    o.append("}  // namespace")
    o.append("")
    for m in schema.messages:
        name = m["name"]
        o.append(f"{encoder_signature(schema, m)} {{")
        value = "m"
        if m.get("unwrap"):
            _, n = unwrapped(schema, m)
            o.append(f"  const {name} m{{{n}}};")
        if m["kind"] == "body":
            o.append("  wire_writer w{out};")
            o.append(f"  put_{name}(w, {value});")
        else:
            flags = m.get("frame_flags", "0")
            o.append(f"  framed(out, message_type::{m['frame_type']}, {flags}, {value}, put_{name});")
        o.append("}")
        what = "body" if m["kind"] == "body" else "payload"
        o.append(f"{decoder_signature(schema, m)} {{")
        request = "true" if m["kind"] == "request" else "false"
        o.append(f"  auto m = parse({what}, get_{name}, {request});")
        if m.get("validate"):
            o.append("  if (m && !valid(*m)) return errc::invalid_request;")
        if m.get("unwrap"):
            _, n = unwrapped(schema, m)
            o.append("  if (!m) return m.error();")
            o.append(f"  return std::move(m->{n});")
        else:
            o.append("  return m;")
        o.append("}")
        o.append("")
    o.append("}  // namespace portask::protocol::native")
    return "\n".join(o) + "\n"


# -- samples for the round-trip test ----------------------------------------------------------
class Samples:
    """fill_sample(m, seed, choices) for every struct; per message the variant dimensions."""

    def __init__(self, schema):
        self.schema = schema

    def dims(self, m):
        d = []
        for f in m["fields"]:
            if f.get("switch"):
                enum = self.schema.enums[f["type"][5:]]
                d.append(("switch", f, [n for n, _ in enum["values"]]))
            if f["type"] == "bits":
                for b in f["bits"]:
                    if "present" in b:
                        d.append(("bit", b, [False, True]))
        if any(f.get("trailing") for f in m["fields"]):
            d.append(("trailing", None, [False, True]))
        return d

    def value(self, t, k, seed):
        if t in ("u8", "bool"):
            return "1" if t == "u8" else "true"
        if t == "u16":
            return f"static_cast<std::uint16_t>(1000 + {k} + seed)"
        if t == "u32":
            return f"static_cast<std::uint32_t>(100000 + {k} + seed)"
        if t == "i16":
            return f"static_cast<std::int16_t>(7 + {k} + seed)"
        if t == "i32":
            return f"static_cast<std::int32_t>(3 + {k} + seed)"
        if t == "i64":
            return f"static_cast<std::int64_t>(1000000000000 + {k} + seed)"
        if t == "string":
            return f'"s" + std::to_string(seed) + "-{k}"'
        if t in ("bytes32", "rest"):
            return f"sample_bytes({k} + seed)"
        return None

    def fill(self, o, name):
        s = self.schema.all[name]
        cpp = self.schema.cpp_name(name)
        body = Body(self.schema, name)
        o.append(f"inline void fill_sample({cpp}& m, int seed, [[maybe_unused]] const choices& c) {{")
        for k, f in enumerate(s["fields"]):
            t = f["type"]
            if t in ("member",) or f.get("column"):
                continue
            if t == "bits":
                for b in f["bits"]:
                    if "member" in b:
                        o.append(f"  m.{b['member']} = 1;")
                continue
            conds = []
            if f.get("ops"):
                enum = body.switch["type"][5:]
                conds.append(" || ".join(f"m.{member(body.switch)} == {enum}::{v}" for v in f["ops"]))
            if f.get("if_bit"):
                conds.append(f"c.bits.count(\"{f['if_bit']}\") != 0")
            if f.get("trailing"):
                conds.append("c.trailing")
            pad = "  "
            if conds:
                o.append(f"  if ({' && '.join(f'({x})' for x in conds)}) {{")
                pad = "    "
            target = f"m.{member(f)}"
            if f.get("switch"):
                o.append(f"{pad}{target} = static_cast<{t[5:]}>(c.op);")
            elif t.startswith("[]"):
                e = t[2:]
                o.append(f"{pad}{target}.resize(2);")
                o.append(f"{pad}for (std::size_t i = 0; i < {target}.size(); ++i) {{")
                v = self.value(e, k, "seed")
                if v is None:
                    o.append(f"{pad}  fill_sample({target}[i], seed * 10 + static_cast<int>(i) + 1, c);")
                else:
                    v = self.value(e, k, "seed + static_cast<int>(i)")
                    o.append(f"{pad}  {target}[i] = {v};")
                o.append(f"{pad}}}")
            elif t.startswith("enum:"):
                first = self.schema.enums[t[5:]]["values"][0][0]
                o.append(f"{pad}{target} = {t[5:]}::{first};")
            else:
                v = self.value(t, k, "seed")
                if f.get("optional"):
                    if v is None:
                        o.append(f"{pad}{target}.emplace();")
                        o.append(f"{pad}fill_sample(*{target}, seed + 1, c);")
                    else:
                        o.append(f"{pad}{target} = {v};")
                elif v is None:
                    o.append(f"{pad}fill_sample({target}, seed + 1, c);")
                else:
                    o.append(f"{pad}{target} = {v};")
            if conds:
                o.append("  }")
        for k, f in enumerate(s["fields"]):
            if f.get("column"):
                o.append("  if (c.trailing)")
                o.append(f"    for (auto& e : m.{f['column']}) e.{f['name']} = {self.value(f['type'], k, 'seed')};")
        for f in s["fields"]:
            if f["type"].startswith("[]") and f.get("count") not in ("u16", "u32"):
                cf = body.array_field(f["count"])
                o.append(f"  m.{member(cf)} = static_cast<{self.schema.cpp_type(cf)}>(m.{member(f)}.size());")
        o.append("}")
        o.append("")


def emit_samples(schema, header_name):
    smp = Samples(schema)
    o = ["#pragma once",
         "// Generated by tools/native_codegen/native_codegen.py from protocol/native_schema.json:",
         "// sample values and traits for the round-trip tests (tests only).",
         f'#include "{header_name}"', "",
         "#include <array>", "#include <set>", "#include <string>", "#include <tuple>", "",
         '#include "protocol/frame.hpp"', "",
         "namespace portask::protocol::native::samples {", "",
         "/// One variant of a message: the switching enum's value, the flag bits set, whether the",
         "/// trailing fields are there.",
         "struct choices {", "  int op = 0;", "  std::set<std::string> bits;", "  bool trailing = true;", "};",
         "",
         "inline byte_view sample_bytes(int n) {",
         "  static const std::array<std::uint8_t, 64> bytes = [] {",
         "    std::array<std::uint8_t, 64> a{};",
         "    for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<std::uint8_t>(i * 37 + 11);",
         "    return a;",
         "  }();",
         "  return byte_view{bytes}.first(static_cast<std::size_t>(1 + n % 60));",
         "}", "",
         "template <class T>", "struct traits;", ""]
    external = [n for n in schema.structs if "cpp" in schema.structs[n]]
    for name in external + generated_structs(schema):
        o.append(f"inline void fill_sample({schema.cpp_name(name)}& m, int seed, const choices& c);")
    o.append("")
    for name in external + generated_structs(schema):
        smp.fill(o, name)
    for m in schema.messages:
        name = m["name"]
        dims = smp.dims(m)
        count = 1
        for d in dims:
            count *= len(d[2])
        o.append("template <>")
        o.append(f"struct traits<{name}> {{")
        o.append(f'  static constexpr const char* name = "{name}";')
        o.append(f"  static constexpr bool framed = {'false' if m['kind'] == 'body' else 'true'};")
        o.append(f"  static constexpr bool open_ended = {'true' if any(f['type'] == 'rest' for f in m['fields']) else 'false'};")
        o.append(f"  static constexpr int variants = {count};")
        if m["kind"] != "body":
            o.append(f"  static constexpr message_type type = message_type::{m['frame_type']};")
        o.append("  static choices variant([[maybe_unused]] int v) {")
        o.append("    choices c;")
        for kind, obj, opts in dims:
            n = len(opts)
            if kind == "switch":
                vals = ", ".join(str(v) for _, v in schema.enums[obj["type"][5:]]["values"])
                o.append(f"    c.op = std::array<int, {n}>{{{vals}}}[static_cast<std::size_t>(v % {n})];")
            elif kind == "bit":
                o.append(f'    if (v % 2) c.bits.insert("{obj["name"]}");')
            else:
                o.append("    c.trailing = v % 2 != 0;")
            o.append(f"    v /= {n};")
        o.append("    return c;")
        o.append("  }")
        o.append(f"  static {name} sample(int v) {{")
        o.append(f"    {name} m;")
        o.append(f"    fill_sample(m, 1, variant(v));")
        o.append("    return m;")
        o.append("  }")
        arg = f"m.{unwrapped(schema, m)[1]}" if m.get("unwrap") else "m"
        flags = ", 0" if m.get("frame_flags") else ""
        o.append(f"  static void encode(buffer& out, const {name}& m) {{ native::{encoder_name(m)}(out, {arg}{flags}); }}")
        o.append(f"  static expected<{name}> decode(byte_view in) {{")
        if m.get("unwrap"):
            o.append(f"    auto v = native::{m['decoder']}(in);")
            o.append("    if (!v) return v.error();")
            o.append(f"    return {name}{{std::move(*v)}};")
        else:
            o.append(f"    return native::{m['decoder']}(in);")
        o.append("  }")
        o.append("};")
        o.append("")
    o.append("using all_messages = std::tuple<" + ", ".join(m["name"] for m in schema.messages) + ">;")
    o.append("")
    o.append("}  // namespace portask::protocol::native::samples")
    return "\n".join(o) + "\n"


# -- message types, frame flags, error codes ---------------------------------------------------
def comment_block(text, lead, width=100):
    """`text` (a string or a list of lines, as JSON has no multi-line strings) as comment lines."""
    text = " ".join(text) if isinstance(text, list) else text
    return textwrap.wrap(text, width - len(lead), initial_indent=lead, subsequent_indent=lead)


def aligned(rows):
    """Declarations with their trailing `///<` comments in one column; a row (None, text) is a
    comment line of its own and starts a new column."""
    out, run = [], []

    def flush():
        width = max((len(d) for d, c in run if c), default=0)
        out.extend(f"{d.ljust(width)}  ///< {c}" if c else d for d, c in run)
        run.clear()

    for decl, comment in rows:
        if decl is None:
            flush()
            out.extend(comment_block(comment, "  // "))
        else:
            run.append((decl, comment))
    flush()
    return out


def cpp_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def error_comment(e):
    comment = e.get("comment", e.get("meaning"))
    if e.get("retriable"):  # said in the comment too, where a reader of the enum looks
        comment = f"retriable: {comment}" if comment else "retriable"
    return comment


def frame_layout(schema):
    """(offset, size, field) of each header field and of the payload, in wire order."""
    rows, offset = [], 0
    for h in schema.frame["fields"]:
        rows.append((offset, h["size"], h))
        if isinstance(h["size"], int):
            offset += h["size"]
    return rows


def emit_frame(schema):
    f = schema.frame
    o = ["/// The frame header (docs/protocol.md section 1), integers big-endian, then the",
         "/// payload:", "///"]
    table = [("offset", "size", "field")]
    for offset, size, h in frame_layout(schema):
        name = f"{h['name']} ({h['value']})" if "value" in h else h["name"]
        table.append((str(offset), str(size), name))
    widths = [max(len(r[i]) for r in table) for i in range(2)]
    o += [f"///   {r[0].ljust(widths[0])}  {r[1].ljust(widths[1])}  {r[2]}" for r in table]
    rows = []
    for h in f["fields"]:
        if "value" in h:
            cpp = {1: "std::uint8_t", 2: "std::uint16_t", 4: "std::uint32_t"}[h["size"]]
            decl = f"inline constexpr {cpp} frame_{h['name']} = {h['value']};"
            rows.append((decl, h.get("notes")))
    rows.append((f"inline constexpr std::size_t frame_header_size = {f['header_size']};",
                 "every field but the payload"))
    o += aligned(rows)
    # Schema.check_frame refuses such a schema already; this states the rule where the C++ is.
    o.append("// The offsets above are sums of the sizes, which must fill the header exactly.")
    sizes = " + ".join(str(h["size"]) for h in f["fields"][:-1])
    o.append(f"static_assert({sizes} == frame_header_size,")
    o.append('              "the frame header\'s field sizes do not add up to frame_header_size");')
    o.append("")
    o.append("/// Message types up to this value are kept for the versions of this protocol")
    o.append("/// (docs/protocol.md section 2); every type of this version is one of them.")
    o.append(f"inline constexpr std::uint8_t max_reserved_type = {f['max_reserved_type']};")
    return o


def emit_types(schema):
    o = ["#pragma once",
         "// Generated by tools/native_codegen/native_codegen.py from protocol/native_schema.json.",
         "// Do not edit: change the schema. Included by protocol/frame.hpp and protocol/error.hpp,",
         "// which declare the functions built on these tables (is_known_type, to_string,",
         "// is_retriable, the error category).", "",
         "#include <cstddef>", "#include <cstdint>", "#include <string_view>", "",
         "namespace portask::protocol {", ""]
    o += emit_frame(schema)
    o.append("")
    o += comment_block(schema.type_doc, "/// ")
    o.append("enum class message_type : std::uint8_t {")
    o += aligned([(f"  {t['name']} = {t['code']},", t.get("comment")) for t in schema.types])
    o.append("};")
    o.append("")
    o += comment_block(schema.flags_doc, "/// ")
    o.append("namespace frame_flags {")
    rows, known = [], 0
    for b in schema.flags:
        if "bit" in b:
            known |= 1 << b["bit"]
            rows.append((f"inline constexpr std::uint16_t {b['name']} = 0x{1 << b['bit']:04X};", b["meaning"]))
    rows.append((f"inline constexpr std::uint16_t known_bits = 0x{known:04X};", "every boolean bit above"))
    for b in schema.flags:
        if "bit" in b:
            continue
        what = f"bits {b['first']}-{b['last']}: {b['meaning']}"
        if "field" not in b:
            rows.append((None, what))
            continue
        mask = ((1 << (b["last"] + 1)) - 1) & ~((1 << b["first"]) - 1)
        rows.append((f"inline constexpr int {b['field']}_shift = {b['first']};", what))
        rows.append((f"inline constexpr std::uint16_t {b['field']}_mask = 0x{mask:04X};", None))
    o += [r[2:] if r.startswith("  //") else r for r in aligned(rows)]
    o.append("}  // namespace frame_flags")
    o.append("")
    o.append("}  // namespace portask::protocol")
    o.append("")
    o.append("namespace portask {")
    o.append("")
    o += comment_block(schema.errors_doc, "/// ")
    o.append("enum class errc : int {")
    rows, group = [], None
    for e in schema.errors:  # each group's comment above its first code
        g = next((g for g in schema.error_groups if g["first"] <= e["code"] <= g["last"]), None)
        if g is not group:
            group = g
            rows.append((None, f"{g['first']}-{g['last']}: {g['comment']}"))
        rows.append((f"  {e['name']} = {e['code']},", error_comment(e)))
    o += aligned(rows)
    o.append("};")
    o.append("")
    o.append("}  // namespace portask")
    o.append("")
    o.append("// The switches behind the hand-written functions of protocol/frame.cpp and")
    o.append("// protocol/error.cpp: generated with the enums, so that they cannot miss a value.")
    o.append("namespace portask::schema_tables {")
    o.append("")
    o.append("/// The name of `t` (\"topic_admin\"); empty for a value this protocol version does not define.")
    o.append("constexpr std::string_view type_name(protocol::message_type t) noexcept {")
    o.append("  switch (t) {")
    for t in schema.types:
        o.append(f"    case protocol::message_type::{t['name']}: return \"{t['name']}\";")
    o.append("  }")
    o.append("  return {};")
    o.append("}")
    o.append("")
    o.append("/// Whether this protocol version defines message type `v`.")
    o.append("constexpr bool known_type(std::uint8_t v) noexcept {")
    o.append("  return !type_name(static_cast<protocol::message_type>(v)).empty();")
    o.append("}")
    o.append("")
    o.append("/// An error code's symbolic name (\"crc_mismatch\"), its message (short English) and whether")
    o.append("/// a client may send the same request again; all empty for a code the schema does not define.")
    o.append("struct error_info {")
    o.append("  std::string_view name;")
    o.append("  std::string_view message;")
    o.append("  bool retriable = false;")
    o.append("};")
    o.append("")
    o.append("constexpr error_info describe(errc e) noexcept {")
    o.append("  switch (e) {")
    for e in schema.errors:
        retriable = "true" if e.get("retriable") else "false"
        o.append(f"    case errc::{e['name']}: return {{\"{e['name']}\", {cpp_string(e['message'])}, {retriable}}};")
    o.append("  }")
    o.append("  return {};")
    o.append("}")
    o.append("")
    o.append("}  // namespace portask::schema_tables")
    return "\n".join(o) + "\n"


# -- documentation ----------------------------------------------------------------------------
def doc_type(schema, f):
    t = f["type"]
    if t.startswith("[]"):
        e = t[2:]
        inner = f"`{e}`" if e in SCALARS else f"*{doc_name(schema, e)}*"
        c = f["count"]
        if c in ("u16", "u32"):
            return f"`{c}` n, then n × {inner}"
        return f"`{c}` × {inner}"
    if t.startswith("enum:"):
        return "`u8`"
    if t == "bits":
        return "`u8` flags"
    if t == "bytes32":
        return "`u32` length, then the bytes"
    if t == "rest":
        return "the bytes to the end of the payload"
    if t in SCALARS:
        return f"`{t}`"
    return f"*{doc_name(schema, t)}*"


def doc_name(schema, name):
    return schema.all[name].get("doc", name)


def doc_notes(schema, owner, f):
    notes = []
    if f.get("ops"):
        notes.append("only for " + ", ".join(f"`{v}`" for v in f["ops"]))
    if f.get("if_bit"):
        notes.append(f"only with the `{f['if_bit']}` bit")
    if f.get("column"):
        notes.append(f"one per element of `{f['column']}`")
    if f.get("trailing"):
        notes.append("trailing (may be absent)")
    if f["type"].startswith("enum:"):
        e = schema.enums[f["type"][5:]]
        notes.append(", ".join(f"{v} `{n}`" for n, v in e["values"]))
    if f["type"] == "bits":
        for b in f["bits"]:
            notes.append(f"bit {b['bit']} `{b['name']}`: {b['doc']}")
        notes.append("other bits must be 0")
    if f.get("doc"):
        notes.append(f["doc"])
    return "; ".join(notes)


def doc_table(schema, title, s):
    rows = [title, "", "| field | type | notes |", "|---|---|---|"]
    for f in s["fields"]:
        if f["type"] == "member":
            continue
        rows.append(f"| `{f['name']}` | {doc_type(schema, f)} | {doc_notes(schema, s, f)} |")
    if len(rows) == 4:
        rows.append("| — | | no fields |")
    return rows


def doc_section(schema, section):
    out = []
    used = set()

    def add_struct(t):
        base = t[2:] if t.startswith("[]") else t
        if base in schema.structs and base not in used:
            used.add(base)
            s = schema.structs[base]
            for f in s["fields"]:
                add_struct(f["type"])
            out.extend(doc_table(schema, f"*{s['doc']}*:", s))
            out.append("")

    msgs = [m for m in schema.messages if m.get("section") == section]
    if not msgs:
        raise SystemExit(f"docs: no message has section {section}")
    for m in msgs:
        kind = {"request": "request", "body": "Response body", "push": "frame"}[m["kind"]]
        frame = ""
        if m["kind"] != "body":
            frame = f" (type `{m['frame_type']}`)"
        title = f"**{m['name']}**: {kind}{frame}:"
        out.extend(doc_table(schema, title, m))
        out.append("")
        for f in m["fields"]:
            add_struct(f["type"])
    while out and out[-1] == "":
        out.pop()
    return out


def doc_row(cells):
    return ("| " + " | ".join(cells)).rstrip() + " |"  # an empty last cell is "| |"


def doc_frame(schema):
    rows = ["| offset | size | field | notes |", "|---|---|---|---|"]
    for offset, size, h in frame_layout(schema):
        notes = [f"`{h['value']}`"] if "value" in h else []
        notes += [h["notes"]] if h.get("notes") else []
        rows.append(doc_row([str(offset), str(size), h["name"], ", ".join(notes)]))
    return rows


def doc_message_types(schema):
    rows = ["| value | name | direction | purpose |", "|---|---|---|---|"]
    for t in schema.types:
        rows.append(doc_row([f"`{t['code']}`", t["doc_name"], DIRECTIONS[t["direction"]], t["purpose"]]))
    rows.append("")  # the reserved range, under the table in the same generated block
    reserved = schema.frame["max_reserved_type"]
    rows.append(f"Values up to `{reserved}` are reserved for future versions of this protocol.")
    return rows


def doc_flags(schema):
    rows = ["| bits | meaning |", "|---|---|"]
    for b in schema.flags:
        if "bit" in b:
            rows.append(doc_row([f"{b['bit']} (`0x{1 << b['bit']:04X}`)", f"{b['name']}: {b['meaning']}"]))
        else:
            rows.append(doc_row([f"{b['first']}–{b['last']}", b["meaning"]]))
    return rows


def doc_errors(schema):
    rows = ["| code | name | retriable | meaning |", "|---|---|---|---|"]
    for e in schema.errors:
        if e["code"] == 0:  # ok is std::error_code's "no error"; no Error frame carries it
            continue
        retriable = "**yes**" if e.get("retriable") else "no"
        rows.append(doc_row([str(e["code"]), e["name"], retriable, e.get("meaning", "")]))
    return rows


# The sections that are a table of the protocol's constants rather than payload layouts.
DOC_TABLES = {"frame": doc_frame, "message_types": doc_message_types, "flags": doc_flags,
              "errors": doc_errors}


def render_docs(schema, text):
    lines = text.split("\n")
    out, i = [], 0
    seen = set()
    while i < len(lines):
        line = lines[i]
        out.append(line)
        if line.startswith("<!-- schema: ") and line.endswith(" -->"):
            section = line[len("<!-- schema: "):-4]
            seen.add(section)
            j = i + 1
            while j < len(lines) and lines[j] != "<!-- /schema -->":
                j += 1
            if j == len(lines):
                raise SystemExit(f"docs: <!-- schema: {section} --> has no <!-- /schema -->")
            out.append("")
            out.extend(DOC_TABLES[section](schema) if section in DOC_TABLES else doc_section(schema, section))
            out.append("")
            out.append(lines[j])
            i = j + 1
            continue
        i += 1
    missing = ({m["section"] for m in schema.messages} | set(DOC_TABLES)) - seen
    if missing:
        raise SystemExit("docs: no table for section(s) " + ", ".join(sorted(missing)))
    return "\n".join(out)


def write_if_changed(path, text):
    """Leaves a file that holds `text` already as it is. The build runs this script again on
    any change to it or to the schema, and ninja (restat) rebuilds only what includes a file
    that changed: native_types.hpp is included by nearly every source."""
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return
    except FileNotFoundError:
        pass
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def main(argv):
    if len(argv) < 3:
        raise SystemExit(__doc__)
    schema = Schema(argv[1])
    if argv[2] == "--cpp":
        if len(argv) != 7:
            raise SystemExit(__doc__)
        hpp, cpp, samples, types = argv[3:7]
        header_name = "portask/native/native_messages.hpp"
        for path, text in ((hpp, emit_header(schema)), (cpp, emit_source(schema, header_name)),
                           (samples, emit_samples(schema, header_name)), (types, emit_types(schema))):
            write_if_changed(path, text)
        return 0
    if argv[2] == "--docs":
        path = argv[3]
        with open(path, encoding="utf-8") as f:
            text = f.read()
        new = render_docs(schema, text)
        if "--check" in argv[4:]:
            if new != text:
                print(f"{path} does not match {argv[1]}: run "
                      f"tools/native_codegen/native_codegen.py {argv[1]} --docs {path}", file=sys.stderr)
                return 1
            return 0
        if new != text:
            with open(path, "w", encoding="utf-8") as f:
                f.write(new)
        return 0
    raise SystemExit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
