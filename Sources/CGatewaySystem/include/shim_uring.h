// Shims for uring APIs that Swift cannot import directly.
#ifndef C_GATEWAY_SHIM_URING_H
#define C_GATEWAY_SHIM_URING_H

#endif
