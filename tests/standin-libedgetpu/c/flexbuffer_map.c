/* See flexbuffer_map.h. Format: https://flatbuffers.dev/flexbuffers (internals section). */
#include "flexbuffer_map.h"

#include <string.h>

enum {
  FBT_NULL = 0,
  FBT_INT = 1,
  FBT_UINT = 2,
  FBT_FLOAT = 3,
  FBT_KEY = 4,
  FBT_STRING = 5,
  FBT_INDIRECT_INT = 6,
  FBT_INDIRECT_UINT = 7,
  FBT_MAP = 9,
  FBT_BLOB = 25,
  FBT_BOOL = 26,
};

static int read_uint(const uint8_t* buf, size_t len, size_t pos, int width, uint64_t* out) {
  if (width != 1 && width != 2 && width != 4 && width != 8) return -1;
  if (pos > len || len - pos < (size_t)width) return -1;
  uint64_t v = 0;
  for (int i = width - 1; i >= 0; i--) v = (v << 8) | buf[pos + (size_t)i];
  *out = v;
  return 0;
}

static int read_int(const uint8_t* buf, size_t len, size_t pos, int width, int64_t* out) {
  uint64_t u;
  if (read_uint(buf, len, pos, width, &u) != 0) return -1;
  if (width < 8) {
    uint64_t sign = (uint64_t)1 << (width * 8 - 1);
    if (u & sign) u |= ~((sign << 1) - 1);
  }
  *out = (int64_t)u;
  return 0;
}

/* The position an offset-typed value points at (the slot's position minus the stored offset). */
static int follow(const fbr_value* v, size_t* target) {
  uint64_t off;
  if (read_uint(v->buf, v->len, v->pos, v->parent_width, &off) != 0) return -1;
  if (off > v->pos) return -1;
  *target = v->pos - (size_t)off;
  return 0;
}

static void unpack_type(uint8_t packed, int* type, int* width) {
  *type = packed >> 2;
  *width = 1 << (packed & 3);
}

int fbr_root(const uint8_t* buf, size_t len, fbr_value* out) {
  if (buf == NULL || len < 3) return -1;
  int root_width = buf[len - 1];
  if (root_width != 1 && root_width != 2 && root_width != 4 && root_width != 8) return -1;
  if (len < 2 + (size_t)root_width) return -1;
  out->buf = buf;
  out->len = len;
  out->pos = len - 2 - (size_t)root_width;
  out->parent_width = root_width;
  unpack_type(buf[len - 2], &out->type, &out->child_width);
  return 0;
}

int fbr_map_lookup(const fbr_value* map, const char* key, fbr_value* out) {
  if (map->type != FBT_MAP) return -1;
  size_t values;
  if (follow(map, &values) != 0) return -1;
  int w = map->child_width;
  if (values < 3 * (size_t)w) return -1;
  uint64_t count, keys_off, keys_width;
  if (read_uint(map->buf, map->len, values - (size_t)w, w, &count) != 0) return -1;
  if (read_uint(map->buf, map->len, values - 2 * (size_t)w, w, &keys_width) != 0) return -1;
  if (read_uint(map->buf, map->len, values - 3 * (size_t)w, w, &keys_off) != 0) return -1;
  size_t keys_field = values - 3 * (size_t)w;
  if (keys_off > keys_field) return -1;
  size_t keys = keys_field - (size_t)keys_off;
  /* Values: count slots of width w, then count packed-type bytes. */
  if (count > map->len || values > map->len || (map->len - values) / (size_t)(w + 1) < count)
    return -1;
  size_t key_len = strlen(key);
  for (uint64_t i = 0; i < count; i++) {
    uint64_t koff;
    size_t kslot = keys + (size_t)i * (size_t)keys_width;
    if (read_uint(map->buf, map->len, kslot, (int)keys_width, &koff) != 0) return -1;
    if (koff > kslot) return -1;
    size_t kpos = kslot - (size_t)koff;
    if (kpos >= map->len) return -1;
    const uint8_t* kstr = map->buf + kpos;
    const void* nul = memchr(kstr, 0, map->len - kpos);
    if (nul == NULL) return -1;
    size_t klen = (size_t)((const uint8_t*)nul - kstr);
    if (klen == key_len && memcmp(kstr, key, klen) == 0) {
      out->buf = map->buf;
      out->len = map->len;
      out->pos = values + (size_t)i * (size_t)w;
      out->parent_width = w;
      unpack_type(map->buf[values + (size_t)count * (size_t)w + (size_t)i], &out->type,
                  &out->child_width);
      return 0;
    }
  }
  return 1;
}

int fbr_as_int(const fbr_value* v, int64_t* out) {
  switch (v->type) {
    case FBT_INT:
    case FBT_BOOL:
      return read_int(v->buf, v->len, v->pos, v->parent_width, out);
    case FBT_UINT: {
      uint64_t u;
      if (read_uint(v->buf, v->len, v->pos, v->parent_width, &u) != 0) return -1;
      *out = (int64_t)u;
      return 0;
    }
    case FBT_INDIRECT_INT:
    case FBT_INDIRECT_UINT: {
      size_t target;
      if (follow(v, &target) != 0) return -1;
      if (v->type == FBT_INDIRECT_INT) return read_int(v->buf, v->len, target, v->child_width, out);
      uint64_t u;
      if (read_uint(v->buf, v->len, target, v->child_width, &u) != 0) return -1;
      *out = (int64_t)u;
      return 0;
    }
    default:
      return -1;
  }
}

int fbr_as_blob(const fbr_value* v, const uint8_t** data, size_t* size) {
  if (v->type != FBT_BLOB && v->type != FBT_STRING) return -1;
  size_t target;
  if (follow(v, &target) != 0) return -1;
  if (target < (size_t)v->child_width) return -1;
  uint64_t n;
  if (read_uint(v->buf, v->len, target - (size_t)v->child_width, v->child_width, &n) != 0)
    return -1;
  if (target > v->len || n > v->len - target) return -1;
  *data = v->buf + target;
  *size = (size_t)n;
  return 0;
}
