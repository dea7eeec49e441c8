// Shims for crypto APIs that Swift cannot import directly.
#ifndef C_GATEWAY_SHIM_CRYPTO_H
#define C_GATEWAY_SHIM_CRYPTO_H

#include <openssl/evp.h>

// The EVP_PKEY_fromdata selection for a public key. EVP_PKEY_PUBLIC_KEY is an OR of
// two macros, which Swift does not import.
static inline int gw_evp_pkey_public_key_selection(void) {
    return EVP_PKEY_PUBLIC_KEY;
}

#endif
