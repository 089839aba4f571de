/*
 * vector_walk.c - the MANIFEST walk of the C vector tests; see vector_walk.h.
 */
#define _GNU_SOURCE
#include "vector_walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool copy_file(const char *from, const char *to) {
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0) return false;
    int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
        close(in);
        return false;
    }
    char buf[65536];
    bool ok = true;
    for (;;) {
        ssize_t r = read(in, buf, sizeof buf);
        if (r < 0) ok = false;
        if (r <= 0) break;
        if (write(out, buf, (size_t)r) != r) {
            ok = false;
            break;
        }
    }
    close(in);
    return close(out) == 0 && ok;
}

__attribute__((format(printf, 2, 3))) static void failf(void (*fail)(const char *), const char *fmt, ...) {
    char msg[PATH_MAX + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fail(msg);
}

/* The FILE names of the MANIFEST, for the check that every .seg file is in it. */
struct names {
    char **v;
    int n, cap;
};

static void names_add(struct names *ns, const char *file) {
    if (ns->n == ns->cap) {
        int cap = ns->cap ? 2 * ns->cap : 64;
        char **v = realloc(ns->v, (size_t)cap * sizeof *v);
        if (!v) return; /* the .seg check below then reports the file as missing */
        ns->v = v;
        ns->cap = cap;
    }
    char *s = strdup(file);
    if (s) ns->v[ns->n++] = s;
}

static bool names_has(const struct names *ns, const char *file) {
    for (int i = 0; i < ns->n; i++)
        if (strcmp(ns->v[i], file) == 0) return true;
    return false;
}

static void names_free(struct names *ns) {
    for (int i = 0; i < ns->n; i++) free(ns->v[i]);
    free(ns->v);
}

/* Copies v's vector into /dev/shm, hands it to each(), and removes the copy. */
static void walk_one(const char *dir, const char *prefix, struct vector_seg *v,
                     void (*each)(struct vector_seg *, void *), void (*fail)(const char *), void *ctx) {
    char shm_path[sizeof v->name + 16];
    snprintf(v->src, sizeof v->src, "%s/%s", dir, v->file);
    snprintf(v->name, sizeof v->name, "%s-%d-%d", prefix, (int)getpid(), v->index);
    snprintf(shm_path, sizeof shm_path, "/dev/shm/%s", v->name);
    if (!copy_file(v->src, shm_path)) {
        failf(fail, "%s: cannot copy to %s: %s", v->src, shm_path, strerror(errno));
        unlink(shm_path);
        return;
    }
    each(v, ctx);
    if (unlink(shm_path) != 0) failf(fail, "unlink %s: %s", shm_path, strerror(errno));
}

int vector_walk(const char *dir, const char *prefix, void (*each)(struct vector_seg *v, void *ctx),
                void (*fail)(const char *message), void *ctx) {
    char manifest[PATH_MAX];
    snprintf(manifest, sizeof manifest, "%s/MANIFEST", dir);
    FILE *f = fopen(manifest, "r");
    if (!f) {
        failf(fail, "cannot open %s: %s", manifest, strerror(errno));
        return -1;
    }
    struct names ns = {0};
    char line[8192];
    int lineno = 0, walked = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0' || line[0] == '#') continue;
        struct vector_seg v = {.index = walked++, .lineno = lineno};
        char *save = NULL;
        v.file = strtok_r(line, " ", &save);
        v.rest = save;
        if (!v.file) {
            failf(fail, "%s line %d: no FILE", manifest, lineno);
            continue;
        }
        names_add(&ns, v.file);
        walk_one(dir, prefix, &v, each, fail, ctx);
    }
    fclose(f);

    DIR *d = opendir(dir);
    if (!d) {
        failf(fail, "opendir %s: %s", dir, strerror(errno));
    } else {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            size_t len = strlen(e->d_name);
            if (len > 4 && strcmp(e->d_name + len - 4, ".seg") == 0 && !names_has(&ns, e->d_name))
                failf(fail, "%s/%s is not in the MANIFEST", dir, e->d_name);
        }
        closedir(d);
    }
    names_free(&ns);
    return walked;
}
