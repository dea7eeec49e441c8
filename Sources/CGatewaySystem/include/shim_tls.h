// Shims for tls APIs that Swift cannot import directly.
#ifndef C_GATEWAY_SHIM_TLS_H
#define C_GATEWAY_SHIM_TLS_H

#endif
