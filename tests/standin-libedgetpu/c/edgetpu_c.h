/* The public C API of libedgetpu (`tflite/public/edgetpu_c.h`), as the stand-in implements it.
 * Declarations only, written from the documented signatures. */
#ifndef TPUPIPE_STANDIN_EDGETPU_C_H
#define TPUPIPE_STANDIN_EDGETPU_C_H

#include <stddef.h>

#include "tensorflow/lite/c/common.h"

#define EDGETPU_EXPORT __attribute__((visibility("default")))

#ifdef __cplusplus
extern "C" {
#endif

enum edgetpu_device_type {
  EDGETPU_APEX_PCI = 0,
  EDGETPU_APEX_USB = 1,
};

struct edgetpu_device {
  enum edgetpu_device_type type;
  const char* path;
};

struct edgetpu_option {
  const char* name;
  const char* value;
};

EDGETPU_EXPORT struct edgetpu_device* edgetpu_list_devices(size_t* num_devices);
EDGETPU_EXPORT void edgetpu_free_devices(struct edgetpu_device* dev);
EDGETPU_EXPORT TfLiteDelegate* edgetpu_create_delegate(enum edgetpu_device_type type,
                                                       const char* name,
                                                       const struct edgetpu_option* options,
                                                       size_t num_options);
EDGETPU_EXPORT void edgetpu_free_delegate(TfLiteDelegate* delegate);
EDGETPU_EXPORT void edgetpu_verbosity(int verbosity);
EDGETPU_EXPORT const char* edgetpu_version(void);

EDGETPU_EXPORT TfLiteDelegate* tflite_plugin_create_delegate(char** options_keys,
                                                             char** options_values,
                                                             size_t num_options,
                                                             void (*error_handler)(const char*));
EDGETPU_EXPORT void tflite_plugin_destroy_delegate(TfLiteDelegate* delegate);

#ifdef __cplusplus
}
#endif

#endif
