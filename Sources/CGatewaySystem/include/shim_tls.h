// Shims for OpenSSL TLS settings that ssl.h and bio.h define as function-like macros
// over SSL_CTX_ctrl/BIO_ctrl, which Swift cannot import.
#ifndef C_GATEWAY_SHIM_TLS_H
#define C_GATEWAY_SHIM_TLS_H

#include <openssl/bio.h>
#include <openssl/ssl.h>

// SSL_OP_* are built with the SSL_OP_BIT() macro, which Swift cannot evaluate.
static const uint64_t CGW_SSL_OP_NO_COMPRESSION = SSL_OP_NO_COMPRESSION;
static const uint64_t CGW_SSL_OP_NO_RENEGOTIATION = SSL_OP_NO_RENEGOTIATION;
static const uint64_t CGW_SSL_OP_CIPHER_SERVER_PREFERENCE = SSL_OP_CIPHER_SERVER_PREFERENCE;
static const uint64_t CGW_SSL_OP_NO_TICKET = SSL_OP_NO_TICKET;

long cgw_ssl_ctx_set_mode(SSL_CTX *context, long mode);
int cgw_ssl_ctx_set_min_proto_version(SSL_CTX *context, int version);
long cgw_ssl_ctx_set_session_cache_mode(SSL_CTX *context, long mode);
long cgw_ssl_ctx_sess_set_cache_size(SSL_CTX *context, long size);
long cgw_ssl_set_mode(SSL *connection, long mode);
int cgw_bio_set_mem_eof_return(BIO *bio, int value);
long cgw_ssl_ctx_sess_number(SSL_CTX *context);

#endif
