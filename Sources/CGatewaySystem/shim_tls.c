#include "CGatewaySystem.h"

long cgw_ssl_ctx_set_mode(SSL_CTX *context, long mode) { return SSL_CTX_set_mode(context, mode); }

int cgw_ssl_ctx_set_min_proto_version(SSL_CTX *context, int version) {
    return (int)SSL_CTX_set_min_proto_version(context, version);
}

long cgw_ssl_ctx_set_session_cache_mode(SSL_CTX *context, long mode) {
    return SSL_CTX_set_session_cache_mode(context, mode);
}

long cgw_ssl_ctx_sess_set_cache_size(SSL_CTX *context, long size) {
    return SSL_CTX_sess_set_cache_size(context, size);
}

long cgw_ssl_set_mode(SSL *connection, long mode) { return SSL_set_mode(connection, mode); }

int cgw_bio_set_mem_eof_return(BIO *bio, int value) { return (int)BIO_set_mem_eof_return(bio, value); }

long cgw_ssl_ctx_sess_number(SSL_CTX *context) { return SSL_CTX_sess_number(context); }
