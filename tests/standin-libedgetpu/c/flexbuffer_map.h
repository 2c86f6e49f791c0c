/* A minimal, bounds-checked FlexBuffer reader: a root map, lookup by key, int and blob values.
 *
 * Enough to read an edgetpu-custom-op's custom options ("1", "4", "5", ... and the stand-in
 * compiler's "tpupipe_standin_segment"). Every read is checked against the buffer's end, so a
 * corrupt options blob gives an error instead of a crash. */
#ifndef TPUPIPE_STANDIN_FLEXBUFFER_MAP_H
#define TPUPIPE_STANDIN_FLEXBUFFER_MAP_H

#include <stddef.h>
#include <stdint.h>

/* One value inside a FlexBuffer: where it sits, its width, and its packed type. */
typedef struct {
  const uint8_t* buf;  /* the whole FlexBuffer */
  size_t len;          /* its length */
  size_t pos;          /* offset of the value slot */
  int parent_width;    /* byte width of the slot (1, 2, 4 or 8) */
  int type;            /* FlexBuffer type (FBT_*) */
  int child_width;     /* byte width encoded in the packed type */
} fbr_value;

/* Reads the root value. Returns 0 on success, -1 when the buffer is malformed. */
int fbr_root(const uint8_t* buf, size_t len, fbr_value* out);

/* Looks `key` up in the map `map`. Returns 0 when found, 1 when absent, -1 when malformed
 * (including when `map` is not a map). */
int fbr_map_lookup(const fbr_value* map, const char* key, fbr_value* out);

/* Reads an integer (inline or indirect, signed or unsigned). Returns 0 or -1. */
int fbr_as_int(const fbr_value* v, int64_t* out);

/* Reads a blob or a string: a pointer into the buffer and its size. Returns 0 or -1. */
int fbr_as_blob(const fbr_value* v, const uint8_t** data, size_t* size);

#endif
