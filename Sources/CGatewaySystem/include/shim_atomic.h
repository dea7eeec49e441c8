// Atomic operations on 64-bit words of memory that Swift did not allocate, such as the
// MAP_SHARED segment that the supervisor and its forked processes share. Swift's
// Synchronization module offers atomics only as values it lays out itself, so the
// segment's types call these instead.
//
// Every word pointer must be 8-byte aligned. 64-bit atomics are lock-free on x86-64 and
// AArch64 (shim_atomic.c asserts it at compile time), which is what makes them work
// across processes: a lock-based fallback would live in one process's memory.
#ifndef C_GATEWAY_SHIM_ATOMIC_H
#define C_GATEWAY_SHIM_ATOMIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Reads a word that another process publishes with a release store or a CAS, so the
// writes made before that store are visible after this load.
uint64_t cgw_atomic_load_acquire_u64(const uint64_t *word);

// Reads a word without ordering, for a field inside a seqlock-protected record: a plain
// Swift load racing with a writer is undefined behaviour in the C11 memory model.
uint64_t cgw_atomic_load_relaxed_u64(const uint64_t *word);

// Publishes a word after the writes that precede it (the release half of a seqlock or
// of a generation flip).
void cgw_atomic_store_release_u64(uint64_t *word, uint64_t value);

// Writes a field inside a seqlock-protected record without ordering; the surrounding
// version stores and fences order it.
void cgw_atomic_store_relaxed_u64(uint64_t *word, uint64_t value);

// Replaces *word with `desired` if it equals *expected (strong CAS, acquire-release on
// success, acquire on failure). On failure *expected receives the current value.
// Claims a cache entry or a refresh request when several processes race for it.
bool cgw_atomic_compare_exchange_u64(uint64_t *word, uint64_t *expected, uint64_t desired);

// Adds `delta` and returns the previous value, without ordering: for counters that
// several processes increment, such as the cache epoch and event counters.
uint64_t cgw_atomic_fetch_add_relaxed_u64(uint64_t *word, uint64_t delta);

// Orders the relaxed loads of a seqlock read before the version re-check that follows.
void cgw_atomic_fence_acquire(void);

// Orders a seqlock writer's "busy" version store before its relaxed field stores.
void cgw_atomic_fence_release(void);

// Full sequentially consistent fence, for the rare step that needs store-load ordering.
void cgw_atomic_fence(void);

// Copies `count` bytes out of shared memory with relaxed loads, for a seqlock reader
// that copies a record a writer may be changing (memcpy there would be a data race).
void cgw_atomic_copy_out(void *destination, const void *shared, size_t count);

// Copies `count` bytes into shared memory with relaxed stores, for a seqlock writer.
void cgw_atomic_copy_in(void *shared, const void *source, size_t count);

#endif
