#include <string.h>
#include "shim_atomic.h"

_Static_assert(__atomic_always_lock_free(sizeof(uint64_t), 0),
               "64-bit atomics must be lock-free to be shared between processes");

uint64_t cgw_atomic_load_acquire_u64(const uint64_t *word) { return __atomic_load_n(word, __ATOMIC_ACQUIRE); }

uint64_t cgw_atomic_load_relaxed_u64(const uint64_t *word) { return __atomic_load_n(word, __ATOMIC_RELAXED); }

void cgw_atomic_store_release_u64(uint64_t *word, uint64_t value) { __atomic_store_n(word, value, __ATOMIC_RELEASE); }

void cgw_atomic_store_relaxed_u64(uint64_t *word, uint64_t value) { __atomic_store_n(word, value, __ATOMIC_RELAXED); }

bool cgw_atomic_compare_exchange_u64(uint64_t *word, uint64_t *expected, uint64_t desired) {
    return __atomic_compare_exchange_n(word, expected, desired, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

uint64_t cgw_atomic_fetch_add_relaxed_u64(uint64_t *word, uint64_t delta) {
    return __atomic_fetch_add(word, delta, __ATOMIC_RELAXED);
}

void cgw_atomic_fence_acquire(void) { __atomic_thread_fence(__ATOMIC_ACQUIRE); }

void cgw_atomic_fence_release(void) { __atomic_thread_fence(__ATOMIC_RELEASE); }

void cgw_atomic_fence(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

// Both copies move whole words while the shared side is 8-byte aligned and fall back to
// single bytes for an unaligned head or the tail. The private side may have any
// alignment, so it is read and written with memcpy of one word.
void cgw_atomic_copy_out(void *destination, const void *shared, size_t count) {
    unsigned char *to = destination;
    const unsigned char *from = shared;
    while (count > 0 && ((uintptr_t)from & 7) != 0) {
        *to++ = __atomic_load_n(from++, __ATOMIC_RELAXED);
        count--;
    }
    for (; count >= 8; count -= 8, from += 8, to += 8) {
        uint64_t word = __atomic_load_n((const uint64_t *)from, __ATOMIC_RELAXED);
        memcpy(to, &word, 8);
    }
    while (count > 0) {
        *to++ = __atomic_load_n(from++, __ATOMIC_RELAXED);
        count--;
    }
}

void cgw_atomic_copy_in(void *shared, const void *source, size_t count) {
    unsigned char *to = shared;
    const unsigned char *from = source;
    while (count > 0 && ((uintptr_t)to & 7) != 0) {
        __atomic_store_n(to++, *from++, __ATOMIC_RELAXED);
        count--;
    }
    for (; count >= 8; count -= 8, from += 8, to += 8) {
        uint64_t word;
        memcpy(&word, from, 8);
        __atomic_store_n((uint64_t *)to, word, __ATOMIC_RELAXED);
    }
    while (count > 0) {
        __atomic_store_n(to++, *from++, __ATOMIC_RELAXED);
        count--;
    }
}
