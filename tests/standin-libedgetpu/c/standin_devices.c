/* The stand-in libedgetpu's device manager and its C API (`edgetpu_c.h`, plugin entry points).
 *
 * Devices come from `TPUPIPE_STANDIN_DEVICES` (comma-separated `usb:PATH` / `pci:PATH`), else from
 * the compile-time `STANDIN_DEVICES` string, read once on first use. The manager follows
 * libedgetpu's `EdgeTpuManager` (a process singleton behind one mutex):
 *  - opening first returns an already open device of the requested type (and path, when one is
 *    given and is not "default"), shared, then the first enumerated device not yet open;
 *  - PCIe devices are tried before USB ones when no type is given;
 *  - a device closes when its last delegate is freed;
 *  - options are validated with the real keys and values; a bad value fails the open (NULL).
 * Failures return NULL with no message, as libedgetpu does; with `edgetpu_verbosity(>=1)` a
 * reason goes to stderr (libedgetpu's VLOG lines).
 *
 * Compile-time switches for tests: STANDIN_DEVICES (the default list), STANDIN_TF_VERSION (the TF
 * version named in edgetpu_version's label), STANDIN_OMIT_FREE_DELEGATE (a library lacking
 * edgetpu_free_delegate), STANDIN_REJECT_OPEN (every open fails). */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "standin.h"

#ifndef STANDIN_DEVICES
#define STANDIN_DEVICES ""
#endif
#ifndef STANDIN_TF_VERSION
#define STANDIN_TF_VERSION "2.19.0"
#endif
#define STANDIN_RUNTIME_VERSION 14
#define MAX_DEVICES 16

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static standin_device g_devices[MAX_DEVICES];
static size_t g_num_devices;
static int g_loaded;
static int g_verbosity;

int standin_verbosity(void) { return g_verbosity; }

static void vlog(const char* msg, const char* detail) {
  if (g_verbosity >= 1) fprintf(stderr, "standin-edgetpu: %s%s\n", msg, detail ? detail : "");
}

/* Parses the device list once. Entries that are not `usb:PATH` / `pci:PATH` are skipped. */
static void load_devices_locked(void) {
  if (g_loaded) return;
  g_loaded = 1;
  const char* spec = getenv("TPUPIPE_STANDIN_DEVICES");
  if (spec == NULL) spec = STANDIN_DEVICES;
  const char* p = spec;
  while (*p != '\0' && g_num_devices < MAX_DEVICES) {
    const char* end = strchr(p, ',');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    enum edgetpu_device_type type;
    size_t skip = 4;
    int ok = 1;
    if (n > 4 && strncmp(p, "usb:", 4) == 0) {
      type = EDGETPU_APEX_USB;
    } else if (n > 4 && strncmp(p, "pci:", 4) == 0) {
      type = EDGETPU_APEX_PCI;
    } else {
      ok = 0;
      type = EDGETPU_APEX_USB;
    }
    if (ok && n - skip < sizeof g_devices[0].path) {
      standin_device* d = &g_devices[g_num_devices++];
      memset(d, 0, sizeof *d);
      d->type = type;
      memcpy(d->path, p + skip, n - skip);
      d->path[n - skip] = '\0';
    }
    if (end == NULL) break;
    p = end + 1;
  }
}

struct edgetpu_device* edgetpu_list_devices(size_t* num_devices) {
  if (num_devices == NULL) abort(); /* libedgetpu: CHECK(num_devices) */
  pthread_mutex_lock(&g_lock);
  load_devices_locked();
  size_t n = g_num_devices;
  if (n == 0) {
    pthread_mutex_unlock(&g_lock);
    *num_devices = 0;
    return NULL;
  }
  /* One block: the array, then the NUL-terminated paths (freed at once by edgetpu_free_devices). */
  size_t bytes = n * sizeof(struct edgetpu_device);
  for (size_t i = 0; i < n; i++) bytes += strlen(g_devices[i].path) + 1;
  char* block = malloc(bytes);
  if (block == NULL) {
    pthread_mutex_unlock(&g_lock);
    *num_devices = 0;
    return NULL;
  }
  struct edgetpu_device* devs = (struct edgetpu_device*)block;
  char* strings = block + n * sizeof(struct edgetpu_device);
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(g_devices[i].path) + 1;
    memcpy(strings, g_devices[i].path, len);
    devs[i].type = g_devices[i].type;
    devs[i].path = strings;
    strings += len;
  }
  pthread_mutex_unlock(&g_lock);
  *num_devices = n;
  return devs;
}

void edgetpu_free_devices(struct edgetpu_device* dev) { free(dev); }

/* Checks the option keys the device understands; unknown keys are ignored, as in libedgetpu. */
static int options_valid(const struct edgetpu_option* options, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const char* k = options[i].name;
    const char* v = options[i].value;
    if (k == NULL || v == NULL) return 0;
    if (strcmp(k, "Performance") == 0) {
      if (strcmp(v, "Low") != 0 && strcmp(v, "Medium") != 0 && strcmp(v, "High") != 0 &&
          strcmp(v, "Max") != 0) {
        vlog("invalid Performance value: ", v);
        return 0;
      }
    } else if (strcmp(k, "Usb.AlwaysDfu") == 0) {
      if (strcmp(v, "True") != 0 && strcmp(v, "False") != 0) {
        vlog("invalid Usb.AlwaysDfu value: ", v);
        return 0;
      }
    } else if (strcmp(k, "Usb.MaxBulkInQueueLength") == 0) {
      char* end = NULL;
      if (*v == '\0' || !(isdigit((unsigned char)*v) || *v == '-' || *v == '+')) return 0;
      long q = strtol(v, &end, 10);
      if (*end != '\0' || q < 0 || q > 256) {
        vlog("invalid Usb.MaxBulkInQueueLength value: ", v);
        return 0;
      }
    }
  }
  return 1;
}

static int path_matches(const standin_device* d, const char* path) {
  return path == NULL || strcmp(path, "default") == 0 || strcmp(d->path, path) == 0;
}

/* OpenDevice(type, path, options); any_type tries PCIe then USB. Returns the device or NULL. */
static standin_device* open_device(int any_type, enum edgetpu_device_type type, const char* path,
                                   const struct edgetpu_option* options, size_t num_options) {
  if (!options_valid(options, num_options)) return NULL;
#ifdef STANDIN_REJECT_OPEN
  /* Test switch: every open fails, as with an unplugged device or one the kernel refuses. */
  (void)any_type;
  (void)type;
  (void)path;
  vlog("STANDIN_REJECT_OPEN: refusing to open ", path ? path : "(any)");
  return NULL;
#endif
  pthread_mutex_lock(&g_lock);
  load_devices_locked();
  standin_device* found = NULL;
  enum edgetpu_device_type order[2] = {EDGETPU_APEX_PCI, EDGETPU_APEX_USB};
  int ntypes = any_type ? 2 : 1;
  if (!any_type) order[0] = type;
  /* An already open, shared device first... */
  for (int t = 0; t < ntypes && found == NULL; t++)
    for (size_t i = 0; i < g_num_devices && found == NULL; i++)
      if (g_devices[i].open_refs > 0 && g_devices[i].type == order[t] &&
          path_matches(&g_devices[i], path))
        found = &g_devices[i];
  /* ...then the first enumerated one not open yet. */
  for (int t = 0; t < ntypes && found == NULL; t++)
    for (size_t i = 0; i < g_num_devices && found == NULL; i++)
      if (g_devices[i].open_refs == 0 && g_devices[i].type == order[t] &&
          path_matches(&g_devices[i], path))
        found = &g_devices[i];
  if (found != NULL) found->open_refs++;
  pthread_mutex_unlock(&g_lock);
  if (found == NULL) vlog("no matching device is available: ", path ? path : "(any)");
  return found;
}

static void close_device(standin_device* d) {
  pthread_mutex_lock(&g_lock);
  if (d->open_refs > 0) d->open_refs--;
  pthread_mutex_unlock(&g_lock);
}

void standin_count_invocation(standin_device* device) {
  pthread_mutex_lock(&g_lock);
  device->invocations++;
  pthread_mutex_unlock(&g_lock);
}

static TfLiteDelegate* delegate_for(standin_device* d) {
  if (d == NULL) return NULL;
  standin_delegate* sd = standin_delegate_new(d);
  if (sd == NULL) {
    close_device(d);
    return NULL;
  }
  return &sd->base;
}

TfLiteDelegate* edgetpu_create_delegate(enum edgetpu_device_type type, const char* name,
                                        const struct edgetpu_option* options,
                                        size_t num_options) {
  if (num_options > 0) {
    if (options == NULL || name == NULL) abort(); /* libedgetpu: CHECK(options); CHECK(name) */
    return delegate_for(open_device(0, type, name, options, num_options));
  }
  return delegate_for(open_device(0, type, name, NULL, 0));
}

#ifndef STANDIN_OMIT_FREE_DELEGATE
void edgetpu_free_delegate(TfLiteDelegate* delegate) {
  if (delegate == NULL) return;
  standin_delegate* sd = (standin_delegate*)delegate;
  close_device(sd->device);
  free(sd);
}
#endif

void edgetpu_verbosity(int verbosity) { g_verbosity = verbosity; }

#define STANDIN_STR2(x) #x
#define STANDIN_STR(x) STANDIN_STR2(x)

const char* edgetpu_version(void) {
  /* libedgetpu's format, "BuildLabel(%s), RuntimeVersion(%d)"; the label names the TFLite
   * headers the stand-in was compiled against, so a caller can check the pairing. */
  return "BuildLabel(tpupipe-standin,TF=" STANDIN_TF_VERSION "), RuntimeVersion(" STANDIN_STR(
      STANDIN_RUNTIME_VERSION) ")";
}

/* ---- external-delegate plugin entry points (edgetpu_delegate_for_custom_op_tflite_plugin.cc) */

/* Parses a non-negative decimal index (absl::SimpleAtoi and >= 0). Returns -1 when invalid. */
static long parse_index(const char* s) {
  if (*s == '\0') return -1;
  char* end = NULL;
  long n = strtol(s, &end, 10);
  if (*end != '\0' || n < 0) return -1;
  return n;
}

/* The path of the n-th enumerated device (of `type` unless any_type), copied into out. */
static int nth_device(int any_type, enum edgetpu_device_type type, long n,
                      enum edgetpu_device_type* out_type, char* out, size_t out_size) {
  int rc = -1;
  pthread_mutex_lock(&g_lock);
  load_devices_locked();
  long seen = 0;
  for (size_t i = 0; i < g_num_devices; i++) {
    if (!any_type && g_devices[i].type != type) continue;
    if (seen++ == n) {
      *out_type = g_devices[i].type;
      snprintf(out, out_size, "%s", g_devices[i].path);
      rc = 0;
      break;
    }
  }
  pthread_mutex_unlock(&g_lock);
  return rc;
}

TfLiteDelegate* tflite_plugin_create_delegate(char** options_keys, char** options_values,
                                              size_t num_options,
                                              void (*error_handler)(const char*)) {
  (void)error_handler; /* libedgetpu never calls it */
  if (num_options > 0 && (options_keys == NULL || options_values == NULL)) return NULL;
  /* A later duplicate key overrides an earlier one (libedgetpu copies into an unordered_map). */
  const char* device = NULL;
  for (size_t i = 0; i < num_options; i++)
    if (options_keys[i] != NULL && strcmp(options_keys[i], "device") == 0)
      device = options_values[i];
  if (device == NULL || device[0] == '\0') return delegate_for(open_device(1, 0, NULL, NULL, 0));
  if (strcmp(device, "usb") == 0)
    return delegate_for(open_device(0, EDGETPU_APEX_USB, NULL, NULL, 0));
  if (strcmp(device, "pci") == 0)
    return delegate_for(open_device(0, EDGETPU_APEX_PCI, NULL, NULL, 0));
  int any_type;
  enum edgetpu_device_type type = EDGETPU_APEX_USB;
  const char* index;
  if (device[0] == ':') {
    any_type = 1;
    index = device + 1;
  } else if (strncmp(device, "usb:", 4) == 0) {
    any_type = 0;
    type = EDGETPU_APEX_USB;
    index = device + 4;
  } else if (strncmp(device, "pci:", 4) == 0) {
    any_type = 0;
    type = EDGETPU_APEX_PCI;
    index = device + 4;
  } else {
    vlog("unknown device string: ", device);
    return NULL;
  }
  long n = parse_index(index);
  if (n < 0) return NULL;
  char path[256];
  enum edgetpu_device_type found_type;
  if (nth_device(any_type, type, n, &found_type, path, sizeof path) != 0) {
    vlog("device index out of range: ", device);
    return NULL;
  }
  /* The whole map goes to OpenDevice ("device" included; the device ignores it). */
  struct edgetpu_option* opts = calloc(num_options ? num_options : 1, sizeof *opts);
  if (opts == NULL) return NULL;
  for (size_t i = 0; i < num_options; i++) {
    opts[i].name = options_keys[i];
    opts[i].value = options_values[i];
  }
  TfLiteDelegate* d = delegate_for(open_device(0, found_type, path, opts, num_options));
  free(opts);
  return d;
}

void tflite_plugin_destroy_delegate(TfLiteDelegate* delegate) {
  if (delegate == NULL) return;
  standin_delegate* sd = (standin_delegate*)delegate;
  close_device(sd->device);
  free(sd);
}

/* ---- test hooks (not part of libedgetpu) */

static standin_device* find_by_path(const char* path) {
  for (size_t i = 0; i < g_num_devices; i++)
    if (strcmp(g_devices[i].path, path) == 0) return &g_devices[i];
  return NULL;
}

/* Kernel runs on the device at `path` so far; -1 when there is no such device. */
EDGETPU_EXPORT long tpupipe_standin_invocations(const char* path) {
  pthread_mutex_lock(&g_lock);
  load_devices_locked();
  standin_device* d = find_by_path(path);
  long n = d ? (long)d->invocations : -1;
  pthread_mutex_unlock(&g_lock);
  return n;
}

/* Delegates currently holding the device at `path`; -1 when there is no such device. */
EDGETPU_EXPORT int tpupipe_standin_open_refs(const char* path) {
  pthread_mutex_lock(&g_lock);
  load_devices_locked();
  standin_device* d = find_by_path(path);
  int n = d ? d->open_refs : -1;
  pthread_mutex_unlock(&g_lock);
  return n;
}
