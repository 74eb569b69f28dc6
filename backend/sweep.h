/*
 * sweep.h: with s3, the objects in the bucket that nothing knows of.
 */
#ifndef MEDIA_SWEEP_H
#define MEDIA_SWEEP_H

#include <stdbool.h>

struct config;
struct db;

/* Whether key has the shape of an upload's object: Rentix
 * "<tenant>/<32 hex>_<name>", Rentalot "images/<tenant>/<property>/<32
 * hex>.<ext>".  Nothing else in the bucket is ever swept. */
bool sweep_key_is_upload(const char *key);

/* List the bucket; of the upload-shaped objects older than upload_url_ttl
 * + orphan_margin, queue for removal those no row refers to.  Returns how
 * many, or -1 when the listing or the database failed. */
int sweep_bucket(const struct config *cfg, struct db *db);

#endif
