/* Internal declarations shared by the stand-in libedgetpu's files. */
#ifndef TPUPIPE_STANDIN_H
#define TPUPIPE_STANDIN_H

#include <stddef.h>

#include "edgetpu_c.h"
#include "tensorflow/lite/c/common.h"

/* One Edge TPU the stand-in pretends to have. */
typedef struct standin_device {
  enum edgetpu_device_type type;
  char path[256];
  int open_refs;             /* delegates sharing this device; 0 = closed */
  unsigned long invocations; /* custom-op kernels run on it */
} standin_device;

/* The stand-in's delegate: the TfLiteDelegate handed out, and the device it runs on. */
typedef struct standin_delegate {
  TfLiteDelegate base; /* first member: a TfLiteDelegate* is a standin_delegate* */
  standin_device* device;
} standin_delegate;

/* Builds the delegate for `device` (standin_delegate.c). Returns NULL when out of memory. */
standin_delegate* standin_delegate_new(standin_device* device);

/* Counts one kernel run on `device`, under the device manager's lock (standin_devices.c). */
void standin_count_invocation(standin_device* device);

/* The verbosity set by edgetpu_verbosity; logs go to stderr when it is at least 1. */
int standin_verbosity(void);

#endif
