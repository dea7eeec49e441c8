#define _GNU_SOURCE 1
#include <fcntl.h>
#include <string.h>
#include <sys/prctl.h>
#include "CGatewaySystem.h"

const char *cgw_errno_name(int number) { return strerrorname_np(number); }

int cgw_fcntl_get_flags(int descriptor) { return fcntl(descriptor, F_GETFL); }

int cgw_fcntl_set_flags(int descriptor, int flags) { return fcntl(descriptor, F_SETFL, flags); }

int cgw_fcntl_set_descriptor_flags(int descriptor, int flags) { return fcntl(descriptor, F_SETFD, flags); }

int cgw_set_parent_death_signal(int signal) { return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0, 0, 0); }
