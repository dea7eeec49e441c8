// Shims for libc facilities that Swift cannot import directly.
#ifndef C_GATEWAY_SHIM_SYSTEM_H
#define C_GATEWAY_SHIM_SYSTEM_H

#include <errno.h>

// errno is a macro over a thread-local lvalue, which Swift cannot import.
static inline int cgw_errno(void) { return errno; }

// strerrorname_np is declared only under _GNU_SOURCE, which Swift's importer may not set.
const char *cgw_errno_name(int number);

// fcntl(2) is variadic; these fix the argument types.
int cgw_fcntl_get_flags(int descriptor);
int cgw_fcntl_set_flags(int descriptor, int flags);
int cgw_fcntl_set_descriptor_flags(int descriptor, int flags);

// prctl(2) is variadic. Asks the kernel to send `signal` to this process when the thread
// that forked it exits.
int cgw_set_parent_death_signal(int signal);

#endif
