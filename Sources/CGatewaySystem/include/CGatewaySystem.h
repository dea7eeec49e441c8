// The one C module of the gateway: system headers for OpenSSL 3, libcurl and liburing,
// plus shims for what Swift cannot import (function-like macros, variadic functions,
// inline functions built on C11 atomics). Each shim header says why each shim exists.
#ifndef C_GATEWAY_SYSTEM_H
#define C_GATEWAY_SYSTEM_H

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <liburing.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <curl/curl.h>

#include "shim_system.h"
#include "shim_crypto.h"
#include "shim_tls.h"
#include "shim_uring.h"
#include "shim_curl.h"
#include "shim_atomic.h"
#include "shim_bench.h"

#endif
