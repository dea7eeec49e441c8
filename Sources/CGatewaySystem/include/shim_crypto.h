// Shims for crypto APIs that Swift cannot import directly.
#ifndef C_GATEWAY_SHIM_CRYPTO_H
#define C_GATEWAY_SHIM_CRYPTO_H

#endif
