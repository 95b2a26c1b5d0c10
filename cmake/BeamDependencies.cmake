# Every dependency is a Debian package found through pkg-config.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
pkg_check_modules(PROTOBUF_C REQUIRED IMPORTED_TARGET libprotobuf-c)
pkg_check_modules(GRPC REQUIRED IMPORTED_TARGET grpc)
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)
# libcrypto: RS256 signing of service-account JWTs (Google credentials), sha256 of artifacts.
pkg_check_modules(OPENSSL REQUIRED IMPORTED_TARGET libcrypto)
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3)
pkg_check_modules(ZLIB REQUIRED IMPORTED_TARGET zlib)
# xxHash: XXH3-128 content identities of input files (transforms/src/io/file_identity.c).
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)
# libpcre2-8: the ETL's validate regexes (PCRE2 syntax, as Python and BigQuery users write).
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
find_program(PROTOC_C protoc-c REQUIRED)
find_program(PROTOC protoc)
if(BEAM_BUILD_TESTS)
  pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
  pkg_check_modules(YAML REQUIRED IMPORTED_TARGET yaml-0.1)
endif()
# Where the system keeps google/protobuf/*.proto (well-known types we import).
find_path(PROTOBUF_WKT_DIR google/protobuf/timestamp.proto
  PATHS /usr/include /usr/local/include REQUIRED)
