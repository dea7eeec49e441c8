// Shims for curl APIs that Swift cannot import directly.
#ifndef C_GATEWAY_SHIM_CURL_H
#define C_GATEWAY_SHIM_CURL_H

#include <curl/curl.h>

// CURL_GLOBAL_DEFAULT is a macro built from other macros, which Swift does not evaluate.
static const long CGW_CURL_GLOBAL_DEFAULT = CURL_GLOBAL_DEFAULT;

// curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call, so each
// argument type gets its own setter. The option must take that type (see its man page).
CURLcode cgw_curl_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode cgw_curl_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value);
CURLcode cgw_curl_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode cgw_curl_setopt_pointer(CURL *handle, CURLoption option, void *value);
CURLcode cgw_curl_setopt_write_function(CURL *handle, curl_write_callback callback);
CURLcode cgw_curl_setopt_xferinfo_function(CURL *handle, curl_xferinfo_callback callback);
CURLcode cgw_curl_getinfo_long(CURL *handle, CURLINFO info, long *value);

#endif
