// Shims for crypto APIs that Swift cannot import directly.
#ifndef C_GATEWAY_SHIM_CRYPTO_H
#define C_GATEWAY_SHIM_CRYPTO_H

#include <stddef.h>
#include <openssl/evp.h>

// Public-key construction from raw JWK values. OSSL_PARAM_BLD keeps the parameter-name
// and value pointers until OSSL_PARAM_BLD_to_param, but a Swift String passed as
// `const char *` is only valid during one call, so the builder runs here in C.
//
// Each function returns a new EVP_PKEY that the caller owns and frees with
// EVP_PKEY_free, or NULL with the reason on the OpenSSL error queue.

// An RSA public key from the big-endian modulus and public exponent.
EVP_PKEY *gw_rsa_public_key(const unsigned char *modulus, size_t modulus_length,
                            const unsigned char *exponent, size_t exponent_length);

// An EC public key on the named group (an OpenSSL group name such as "prime256v1") from
// an encoded point, such as the uncompressed 0x04 || x || y. OpenSSL rejects a point that is not on the curve.
EVP_PKEY *gw_ec_public_key(const char *group_name, const unsigned char *point, size_t point_length);

#endif
