/*
 * vector_walk.h - the MANIFEST walk that test_vectors.c and test_peers.c share (compiled into both,
 * see CMakeLists.txt).
 *
 * A vector directory (tests/vectors, tests/vectors/peers; see tests/vectors/README.md) holds .seg
 * files and a MANIFEST with one line a vector: the FILE name, then fields each test parses itself.
 * The walk copies each vector into /dev/shm under a name of its own, hands it to the test, and
 * removes the copy. It judges nothing itself: what goes wrong is handed to the test's fail
 * callback (check.h's counter is private to each translation unit).
 */
#ifndef NPSHM_TEST_VECTOR_WALK_H
#define NPSHM_TEST_VECTOR_WALK_H

#include <limits.h>

/* One MANIFEST line, its vector copied into /dev/shm. */
struct vector_seg {
    int index;            /* 0, 1, ... over the vector lines */
    int lineno;           /* in the MANIFEST, from 1 */
    const char *file;     /* the FILE field */
    char *rest;           /* the fields after FILE, spaces included, for the test to parse (writable) */
    char src[PATH_MAX];   /* DIR/FILE, the committed file */
    char name[128];       /* the npshm name of its copy in /dev/shm: PREFIX-PID-INDEX */
};

/*
 * For each line of DIR/MANIFEST but blank lines and # comments: copies DIR/FILE to /dev/shm as
 * PREFIX-PID-INDEX, calls each(v, ctx), and unlinks the copy. Then every .seg file in DIR must
 * be named in the MANIFEST. Each problem (no MANIFEST, a malformed line, a copy or an unlink
 * that fails, a .seg file not in the MANIFEST) is one call of fail(message). Returns the number
 * of vector lines walked (each was handed to each() or failed), or -1 if there is no MANIFEST.
 */
int vector_walk(const char *dir, const char *prefix, void (*each)(struct vector_seg *v, void *ctx),
                void (*fail)(const char *message), void *ctx);

#endif /* NPSHM_TEST_VECTOR_WALK_H */
