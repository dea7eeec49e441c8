// Shims for gateway-bench, the load generator: the epoll header, and OpenSSL client
// settings that ssl.h defines as function-like macros over SSL_CTX_ctrl/SSL_ctrl, which
// Swift cannot import.
#ifndef C_GATEWAY_SHIM_BENCH_H
#define C_GATEWAY_SHIM_BENCH_H

#include <sys/epoll.h>
#include <sys/resource.h>
#include <openssl/ssl.h>

// SSL_OP_* are built with the SSL_OP_BIT() macro, which Swift cannot evaluate. With this
// option a TCP close without close_notify reads as SSL_ERROR_ZERO_RETURN, which lets the
// client accept HTTP responses whose body ends with the connection.
static const uint64_t CGW_BENCH_SSL_OP_IGNORE_UNEXPECTED_EOF = SSL_OP_IGNORE_UNEXPECTED_EOF;

// Returns 1 on success, 0 on failure (as SSL_CTX_set_max_proto_version).
int cgw_bench_ssl_ctx_set_max_proto_version(SSL_CTX *context, int version);

// Lets OpenSSL read as many bytes as the socket has in one read(2) instead of one TLS
// record header and then its body, which halves the reads per response.
void cgw_bench_ssl_ctx_set_read_ahead(SSL_CTX *context, int enabled);

// Sets the server name sent in the client hello (SNI). Returns 1 on success.
int cgw_bench_ssl_set_tlsext_host_name(SSL *connection, const char *name);

#endif
