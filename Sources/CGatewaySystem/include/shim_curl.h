// Shims for curl APIs that Swift cannot import directly.
#ifndef C_GATEWAY_SHIM_CURL_H
#define C_GATEWAY_SHIM_CURL_H

#endif
