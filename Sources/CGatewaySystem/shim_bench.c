#include "CGatewaySystem.h"

int cgw_bench_ssl_ctx_set_max_proto_version(SSL_CTX *context, int version) {
    return (int)SSL_CTX_set_max_proto_version(context, version);
}

void cgw_bench_ssl_ctx_set_read_ahead(SSL_CTX *context, int enabled) {
    SSL_CTX_set_read_ahead(context, enabled);
}

int cgw_bench_ssl_set_tlsext_host_name(SSL *connection, const char *name) {
    return (int)SSL_set_tlsext_host_name(connection, name);
}
