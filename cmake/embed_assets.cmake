# Writes a C++ source holding files as byte arrays (script mode: cmake -P).
#   -DOUTPUT=<file.cpp> -DSOURCE_DIR=<dir> -DFILES=<a;b;c> -DNAMESPACE=<ns>
# Each file becomes `path`, its content type (by extension) and its bytes, looked up with
# find_console_asset(). Bytes, not a string literal: assets may hold anything.
string(REPLACE "|" ";" FILES "${FILES}")
file(WRITE "${OUTPUT}.tmp" "// Generated from ${SOURCE_DIR} by cmake/embed_assets.cmake; do not edit.\n"
  "#include \"console/console_assets.hpp\"\n\nnamespace ${NAMESPACE} {\nnamespace {\n")
set(table "")
set(index 0)
foreach(name IN LISTS FILES)
  file(READ "${SOURCE_DIR}/${name}" hex HEX)
  string(LENGTH "${hex}" hex_length)
  math(EXPR size "${hex_length} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" bytes "${bytes}")
  file(APPEND "${OUTPUT}.tmp" "constexpr unsigned char asset_${index}[] = {\n${bytes}0};\n")
  if(name MATCHES "\\.html$")
    set(type "text/html; charset=utf-8")
  elseif(name MATCHES "\\.js$")
    set(type "text/javascript; charset=utf-8")
  elseif(name MATCHES "\\.css$")
    set(type "text/css; charset=utf-8")
  else()
    set(type "application/octet-stream")
  endif()
  string(APPEND table "  {\"${name}\", \"${type}\", {reinterpret_cast<const char*>(asset_${index}), ${size}}},\n")
  math(EXPR index "${index} + 1")
endforeach()
file(APPEND "${OUTPUT}.tmp" "const console_asset assets[] = {\n${table}};\n}  // namespace\n\n"
  "std::optional<console_asset> find_console_asset(std::string_view path) {\n"
  "  for (const auto& a : assets)\n    if (a.path == path) return a;\n  return std::nullopt;\n}\n\n"
  "}  // namespace ${NAMESPACE}\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
