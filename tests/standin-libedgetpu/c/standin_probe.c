/* Test hook (not part of libedgetpu): reads one key of a custom-options FlexBuffer with the same
 * reader the delegate uses, so tests can check the reader against real edgetpu_compiler output. */
#include "edgetpu_c.h"
#include "flexbuffer_map.h"

/* Looks `key` up in the root map of `buf`. Returns 0 when found, 1 when absent, -1 when
 * malformed. When found: *type_out is its FlexBuffer type; ints go to *int_out; blobs and
 * strings give their offset in `buf` and their size. */
EDGETPU_EXPORT int tpupipe_standin_probe_options(const uint8_t* buf, size_t len, const char* key,
                                                 int* type_out, int64_t* int_out,
                                                 size_t* blob_offset_out, size_t* blob_size_out) {
  fbr_value root, v;
  if (fbr_root(buf, len, &root) != 0) return -1;
  int rc = fbr_map_lookup(&root, key, &v);
  if (rc != 0) return rc;
  *type_out = v.type;
  const uint8_t* data;
  size_t size;
  if (fbr_as_int(&v, int_out) != 0) *int_out = 0;
  if (fbr_as_blob(&v, &data, &size) == 0) {
    *blob_offset_out = (size_t)(data - buf);
    *blob_size_out = size;
  } else {
    *blob_offset_out = 0;
    *blob_size_out = 0;
  }
  return 0;
}
