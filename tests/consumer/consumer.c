/* consumer.c - a program built against an installed npshm: creates an array,
 * attaches to it, checks what it sees, deletes it. Exit status 0 on success. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <npshm.h>

static int fail(const char *what, int rc) {
    fprintf(stderr, "consumer: %s failed: %d (%s)\n", what, rc, npshm_last_error());
    return 1;
}

int main(void) {
    char name[64];
    snprintf(name, sizeof name, "npshm-consumer-%d", (int)getpid());
    const int64_t shape[2] = {3, 4};
    npshm_array *a = NULL, *b = NULL;
    int rc = npshm_create(name, 2, shape, "int32", 0, &a);
    if (rc != NPSHM_OK) return fail("npshm_create", rc);
    int32_t *p = npshm_data(a);
    for (int i = 0; i < 12; i++) p[i] = i * i;
    rc = npshm_attach_expect(name, NPSHM_READONLY, 2, shape, "<i4", &b);
    if (rc != NPSHM_OK) {
        npshm_release(a);
        npshm_delete(name);
        return fail("npshm_attach_expect", rc);
    }
    const int32_t *q = npshm_data(b);
    int ok = npshm_nbytes(b) == 48 && strcmp(npshm_dtype(b), "<i4") == 0 && q[11] == 121 && q[5] == 25;
    npshm_release(b);
    npshm_release(a);
    rc = npshm_delete(name);
    if (rc != NPSHM_OK) return fail("npshm_delete", rc);
    if (npshm_attach(name, 0, &b) != NPSHM_ERR_NOT_FOUND) return fail("attach after delete", -1);
    if (!ok) {
        fprintf(stderr, "consumer: the attached array does not hold what was written\n");
        return 1;
    }
    printf("consumer: npshm %s works: created, attached, checked and deleted %s\n", npshm_version(), name);
    return 0;
}
