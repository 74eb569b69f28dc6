/*
 * sweep.c: the bucket sweep.
 *
 * With s3 a client PUTs straight to the bucket with a presigned URL, and
 * only a confirm records the upload (it HEADs the object first): an
 * object PUT and never confirmed would stay forever.  Now and then
 * (s3_sweep_interval) the worker lists the bucket and hands the database
 * the keys shaped like uploads that are older than any signed URL could
 * be, plus orphan_margin; media_sweep_unknown (sql/008_bucket_sweep.sql)
 * queues for removal those no row refers to, and the worker's garbage
 * pass deletes them.  Anything not shaped like our uploads is left alone:
 * the bucket may be shared, and variants are written before they are
 * recorded.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "log.h"
#include "queue.h"
#include "s3.h"
#include "sweep.h"

#define PAGE_KEYS 1000

struct page {
    time_t  cutoff;
    char   *keys[PAGE_KEYS];
    int     n;
};

/* n decimal digits at *p, then stop; moves *p past them. */
static bool
digits(const char **p)
{
    const char *s = *p;

    while (isdigit((unsigned char) **p))
        (*p)++;
    return *p > s;
}

static bool
hex32(const char **p)
{
    int i;

    for (i = 0; i < 32; i++, (*p)++)
        if (!isdigit((unsigned char) **p) && !(**p >= 'a' && **p <= 'f'))
            return false;
    return true;
}

/* Rentalot: images/<tenant>/<property>/<32 hex>.<ext> */
static bool
rentalot_key(const char *p)
{
    const char *slash;
    int ext = 0;

    if (strncmp(p, "images/", 7) != 0)
        return false;
    p += 7;
    if (!digits(&p) || *p++ != '/')
        return false;
    slash = strchr(p, '/');
    if (slash == NULL || slash == p)
        return false;
    p = slash + 1;
    if (!hex32(&p) || *p++ != '.')
        return false;
    for (; isalnum((unsigned char) *p) && ext <= 5; p++)
        ext++;
    return *p == '\0' && ext >= 1 && ext <= 5;
}

/* Rentix: <tenant>/<32 hex>_<name> */
static bool
rentix_key(const char *p)
{
    return digits(&p) && *p++ == '/' && hex32(&p) && *p++ == '_'
           && *p != '\0' && strchr(p, '/') == NULL;
}

bool
sweep_key_is_upload(const char *key)
{
    return rentalot_key(key) || rentix_key(key);
}

static void
on_object(const char *key, time_t modified, void *arg)
{
    struct page *pg = arg;

    if (modified >= pg->cutoff || !sweep_key_is_upload(key)
        || pg->n == PAGE_KEYS)
        return;
    pg->keys[pg->n] = strdup(key);
    if (pg->keys[pg->n] != NULL)
        pg->n++;
}

static void
page_clear(struct page *pg)
{
    while (pg->n > 0)
        free(pg->keys[--pg->n]);
}

int
sweep_bucket(const struct config *cfg, struct db *db)
{
    struct page pg = { .n = 0 };
    char marker[1100] = "", last[1100];
    int total = 0, n;

    pg.cutoff = time(NULL) - (time_t) (cfg->upload_url_ttl
                                       + cfg->orphan_margin);
    do {
        strcpy(last, marker);
        if (s3_list(cfg, marker, sizeof(marker), on_object, &pg) != 0) {
            log_warn("bucket sweep: listing %s failed", cfg->s3_bucket);
            page_clear(&pg);
            return -1;
        }
        n = pg.n > 0 ? queue_sweep_unknown(db, (const char *const *) pg.keys,
                                           pg.n) : 0;
        page_clear(&pg);
        if (n < 0)
            return -1;
        total += n;
        /* keys come in order: a store that ignored the marker would
         * give the same page forever */
        if (marker[0] != '\0' && strcmp(marker, last) <= 0) {
            log_warn("bucket sweep: the listing of %s does not advance",
                     cfg->s3_bucket);
            return -1;
        }
    } while (marker[0] != '\0');
    return total;
}
