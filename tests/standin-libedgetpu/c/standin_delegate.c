/* The stand-in's TfLiteDelegate: claims exactly the `edgetpu-custom-op` nodes, one delegate kernel
 * per node, and runs each with a nested interpreter of the same TFLite C library.
 *
 * Private convention with tpupipe's stand-in compiler: the custom op's options are a FlexBuffer
 * map with libedgetpu's keys plus "tpupipe_standin_segment", a blob holding a standalone .tflite
 * model of exactly the replaced ops, whose subgraph inputs and outputs are the custom op's (same
 * order, types and shapes). The kernel copies the inputs in, invokes the nested model (one thread)
 * and copies the outputs out.
 *
 * Compile-time switches for tests: STANDIN_CLAIM_NONE makes Prepare claim nothing (a delegate that
 * leaves the custom ops to the CPU). STANDIN_DELAY_US and STANDIN_DELAY_NS_PER_BYTE give the
 * device a latency model: an invoke takes at least STANDIN_DELAY_US microseconds plus
 * STANDIN_DELAY_NS_PER_BYTE nanoseconds per byte of the embedded segment (it sleeps until then),
 * so measured latencies follow a known law instead of the host's CPU time. With a latency model,
 * an invoke whose inputs equal the previous invoke's skips the nested run and keeps its outputs
 * (the nested interpreter is deterministic, so they are the same bytes): timing loops over one
 * input then measure the law, not the host's CPU time. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flexbuffer_map.h"
#include "standin.h"
#include "tensorflow/lite/c/c_api.h"

#define EDGETPU_CUSTOM_OP "edgetpu-custom-op"
#define SEGMENT_KEY "tpupipe_standin_segment"

/* One delegate kernel: the nested interpreter standing in for the TPU program. */
typedef struct {
  standin_device* device;
  void* model_bytes; /* owned copy of the embedded .tflite; outlives model and interpreter */
  size_t model_size; /* its length */
  unsigned char* last_inputs; /* the previous invoke's inputs, concatenated (latency model) */
  size_t last_inputs_size;
  TfLiteModel* model;
  TfLiteInterpreter* interpreter;
  TfLiteIntArray* inputs;  /* outer tensor indices, the custom op's order */
  TfLiteIntArray* outputs; /* outer tensor indices */
  char error[256];         /* set when init failed; reported from prepare */
} standin_kernel;

static TfLiteIntArray* copy_int_array(const TfLiteIntArray* a) {
  TfLiteIntArray* c = TfLiteIntArrayCreate(a->size);
  if (c != NULL) memcpy(c->data, a->data, sizeof(int) * (size_t)a->size);
  return c;
}

/* Fills the kernel from the original custom-op node's options; leaves a message on failure. */
static void kernel_load(standin_kernel* k, TfLiteContext* context, int node_index) {
  TfLiteNode* node = NULL;
  TfLiteRegistration* reg = NULL;
  if (context->GetNodeAndRegistration(context, node_index, &node, &reg) != kTfLiteOk) {
    snprintf(k->error, sizeof k->error, "cannot read node %d", node_index);
    return;
  }
  k->inputs = copy_int_array(node->inputs);
  k->outputs = copy_int_array(node->outputs);
  fbr_value root, seg;
  const uint8_t* blob = NULL;
  size_t blob_size = 0;
  if (node->custom_initial_data == NULL ||
      fbr_root(node->custom_initial_data, (size_t)node->custom_initial_data_size, &root) != 0) {
    snprintf(k->error, sizeof k->error, "custom options of node %d are not a FlexBuffer",
             node_index);
    return;
  }
  int found = fbr_map_lookup(&root, SEGMENT_KEY, &seg);
  if (found != 0 || fbr_as_blob(&seg, &blob, &blob_size) != 0 || blob_size == 0) {
    snprintf(k->error, sizeof k->error,
             "custom options of node %d have no readable \"" SEGMENT_KEY "\" blob", node_index);
    return;
  }
  k->model_bytes = malloc(blob_size);
  if (k->model_bytes == NULL) {
    snprintf(k->error, sizeof k->error, "out of memory");
    return;
  }
  memcpy(k->model_bytes, blob, blob_size);
  k->model_size = blob_size;
  k->model = TfLiteModelCreate(k->model_bytes, blob_size);
  if (k->model == NULL) {
    snprintf(k->error, sizeof k->error, "embedded segment of node %d is not a valid model",
             node_index);
    return;
  }
  TfLiteInterpreterOptions* opts = TfLiteInterpreterOptionsCreate();
  if (opts == NULL) {
    snprintf(k->error, sizeof k->error, "out of memory");
    return;
  }
  TfLiteInterpreterOptionsSetNumThreads(opts, 1);
  k->interpreter = TfLiteInterpreterCreate(k->model, opts);
  TfLiteInterpreterOptionsDelete(opts);
  if (k->interpreter == NULL ||
      TfLiteInterpreterAllocateTensors(k->interpreter) != kTfLiteOk) {
    snprintf(k->error, sizeof k->error, "embedded segment of node %d does not load", node_index);
    return;
  }
  if (TfLiteInterpreterGetInputTensorCount(k->interpreter) != node->inputs->size ||
      TfLiteInterpreterGetOutputTensorCount(k->interpreter) != node->outputs->size) {
    snprintf(k->error, sizeof k->error,
             "embedded segment of node %d has %d inputs / %d outputs, the custom op %d / %d",
             node_index, TfLiteInterpreterGetInputTensorCount(k->interpreter),
             TfLiteInterpreterGetOutputTensorCount(k->interpreter), node->inputs->size,
             node->outputs->size);
  }
}

static void* kernel_init(TfLiteContext* context, const char* buffer, size_t length) {
  (void)length;
  const TfLiteDelegateParams* params = (const TfLiteDelegateParams*)buffer;
  standin_kernel* k = calloc(1, sizeof *k);
  if (k == NULL) return NULL;
  k->device = ((standin_delegate*)params->delegate)->device;
  if (params->nodes_to_replace->size != 1)
    snprintf(k->error, sizeof k->error, "expected one node per kernel, got %d",
             params->nodes_to_replace->size);
  else
    kernel_load(k, context, params->nodes_to_replace->data[0]);
  return k;
}

static void kernel_free(TfLiteContext* context, void* buffer) {
  (void)context;
  standin_kernel* k = buffer;
  if (k == NULL) return;
  if (k->interpreter) TfLiteInterpreterDelete(k->interpreter);
  if (k->model) TfLiteModelDelete(k->model);
  free(k->model_bytes);
  free(k->last_inputs);
  if (k->inputs) TfLiteIntArrayFree(k->inputs);
  if (k->outputs) TfLiteIntArrayFree(k->outputs);
  free(k);
}

static TfLiteStatus check_tensor(TfLiteContext* context, const char* what, int i,
                                 const TfLiteTensor* outer, const TfLiteTensor* inner) {
  if (outer->type != TfLiteTensorType(inner) || outer->bytes != TfLiteTensorByteSize(inner)) {
    context->ReportError(context,
                         "Failed to prepare for TPU. custom op %s %d is type %d, %zu bytes; "
                         "the executable's is type %d, %zu bytes",
                         what, i, (int)outer->type, outer->bytes, (int)TfLiteTensorType(inner),
                         TfLiteTensorByteSize(inner));
    return kTfLiteError;
  }
  return kTfLiteOk;
}

static TfLiteStatus kernel_prepare(TfLiteContext* context, TfLiteNode* node) {
  standin_kernel* k = node->user_data;
  if (k == NULL) {
    context->ReportError(context, "Null custom op data.");
    return kTfLiteError;
  }
  if (k->error[0] != '\0') {
    context->ReportError(context, "Failed to prepare for TPU. %s", k->error);
    return kTfLiteError;
  }
  for (int i = 0; i < k->inputs->size; i++)
    if (check_tensor(context, "input", i, &context->tensors[k->inputs->data[i]],
                     TfLiteInterpreterGetInputTensor(k->interpreter, i)) != kTfLiteOk)
      return kTfLiteError;
  for (int i = 0; i < k->outputs->size; i++)
    if (check_tensor(context, "output", i, &context->tensors[k->outputs->data[i]],
                     TfLiteInterpreterGetOutputTensor(k->interpreter, i)) != kTfLiteOk)
      return kTfLiteError;
  return kTfLiteOk;
}

#ifndef STANDIN_DELAY_US
#define STANDIN_DELAY_US 0
#endif
#ifndef STANDIN_DELAY_NS_PER_BYTE
#define STANDIN_DELAY_NS_PER_BYTE 0
#endif

/* The end of the latency model's time for an invoke that started at `start`. */
static struct timespec delay_deadline(const struct timespec* start, size_t segment_bytes) {
  long long ns = (long long)STANDIN_DELAY_US * 1000LL +
                 (long long)STANDIN_DELAY_NS_PER_BYTE * (long long)segment_bytes;
  struct timespec end = *start;
  long long total = (long long)end.tv_nsec + ns;
  end.tv_sec += (time_t)(total / 1000000000LL);
  end.tv_nsec = (long)(total % 1000000000LL);
  return end;
}

static long long ns_of(const struct timespec* t) {
  return (long long)t->tv_sec * 1000000000LL + (long long)t->tv_nsec;
}

/* Sleeps until 5 ms before `end` (timer ticks may be coarse), then spins to it. */
static void wait_until(const struct timespec* end) {
  const long long spin_ns = 5000000LL;
  long long sleep_to = ns_of(end) - spin_ns;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  if (sleep_to > ns_of(&now)) {
    struct timespec t = {(time_t)(sleep_to / 1000000000LL), (long)(sleep_to % 1000000000LL)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR) {
    }
  }
  do {
    clock_gettime(CLOCK_MONOTONIC, &now);
  } while (ns_of(&now) < ns_of(end));
}

/* With a latency model: true when the inputs equal the previous invoke's (then the nested
 * interpreter's outputs are already this invoke's); otherwise remembers them. */
static int same_inputs_as_last(standin_kernel* k, TfLiteContext* context) {
  if (STANDIN_DELAY_US == 0 && STANDIN_DELAY_NS_PER_BYTE == 0) return 0;
  size_t total = 0;
  for (int i = 0; i < k->inputs->size; i++) total += context->tensors[k->inputs->data[i]].bytes;
  int same = k->last_inputs != NULL && k->last_inputs_size == total;
  size_t at = 0;
  for (int i = 0; same && i < k->inputs->size; i++) {
    const TfLiteTensor* t = &context->tensors[k->inputs->data[i]];
    same = memcmp(k->last_inputs + at, t->data.raw_const, t->bytes) == 0;
    at += t->bytes;
  }
  if (same) return 1;
  unsigned char* buf = realloc(k->last_inputs, total > 0 ? total : 1);
  if (buf == NULL) {
    free(k->last_inputs);
    k->last_inputs = NULL;
    k->last_inputs_size = 0;
    return 0;
  }
  k->last_inputs = buf;
  k->last_inputs_size = total;
  at = 0;
  for (int i = 0; i < k->inputs->size; i++) {
    const TfLiteTensor* t = &context->tensors[k->inputs->data[i]];
    memcpy(k->last_inputs + at, t->data.raw_const, t->bytes);
    at += t->bytes;
  }
  return 0;
}

static TfLiteStatus kernel_invoke(TfLiteContext* context, TfLiteNode* node) {
  standin_kernel* k = node->user_data;
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  if (same_inputs_as_last(k, context)) goto outputs;
  for (int i = 0; i < k->inputs->size; i++) {
    const TfLiteTensor* t = &context->tensors[k->inputs->data[i]];
    if (TfLiteTensorCopyFromBuffer(TfLiteInterpreterGetInputTensor(k->interpreter, i),
                                   t->data.raw_const, t->bytes) != kTfLiteOk) {
      context->ReportError(context, "Failed to execute request. input %d copy failed", i);
      return kTfLiteError;
    }
  }
  if (TfLiteInterpreterInvoke(k->interpreter) != kTfLiteOk) {
    context->ReportError(context, "Failed to execute request. nested invoke failed");
    free(k->last_inputs);
    k->last_inputs = NULL;
    k->last_inputs_size = 0;
    return kTfLiteError;
  }
outputs:
  for (int i = 0; i < k->outputs->size; i++) {
    TfLiteTensor* t = &context->tensors[k->outputs->data[i]];
    if (TfLiteTensorCopyToBuffer(TfLiteInterpreterGetOutputTensor(k->interpreter, i),
                                 t->data.raw, t->bytes) != kTfLiteOk) {
      context->ReportError(context, "Failed to execute request. output %d copy failed", i);
      return kTfLiteError;
    }
  }
  if (STANDIN_DELAY_US > 0 || STANDIN_DELAY_NS_PER_BYTE > 0) {
    struct timespec end = delay_deadline(&start, k->model_size);
    wait_until(&end);
  }
  standin_count_invocation(k->device);
  return kTfLiteOk;
}

static TfLiteStatus delegate_prepare(TfLiteContext* context, TfLiteDelegate* delegate) {
#ifdef STANDIN_CLAIM_NONE
  (void)context;
  (void)delegate;
  return kTfLiteOk;
#else
  TfLiteIntArray* plan = NULL;
  if (context->GetExecutionPlan(context, &plan) != kTfLiteOk) return kTfLiteError;
  /* The plan changes as nodes are replaced: collect the custom-op nodes first. */
  TfLiteIntArray* claimed = TfLiteIntArrayCreate(plan->size);
  if (claimed == NULL) return kTfLiteError;
  claimed->size = 0;
  for (int i = 0; i < plan->size; i++) {
    TfLiteNode* node = NULL;
    TfLiteRegistration* reg = NULL;
    if (context->GetNodeAndRegistration(context, plan->data[i], &node, &reg) != kTfLiteOk)
      continue;
    if (reg->custom_name != NULL && strcmp(reg->custom_name, EDGETPU_CUSTOM_OP) == 0)
      claimed->data[claimed->size++] = plan->data[i];
  }
  TfLiteRegistration kernel;
  memset(&kernel, 0, sizeof kernel);
  kernel.init = kernel_init;
  kernel.free = kernel_free;
  kernel.prepare = kernel_prepare;
  kernel.invoke = kernel_invoke;
  kernel.custom_name = "EdgeTpuDelegateForCustomOp";
  kernel.version = 1;
  TfLiteStatus status = kTfLiteOk;
  for (int i = 0; i < claimed->size && status == kTfLiteOk; i++) {
    TfLiteIntArray* one = TfLiteIntArrayCreate(1);
    if (one == NULL) {
      status = kTfLiteError;
      break;
    }
    one->data[0] = claimed->data[i];
    status = context->ReplaceNodeSubsetsWithDelegateKernels(context, kernel, one, delegate);
    TfLiteIntArrayFree(one);
  }
  TfLiteIntArrayFree(claimed);
  return status;
#endif
}

standin_delegate* standin_delegate_new(standin_device* device) {
  standin_delegate* sd = calloc(1, sizeof *sd);
  if (sd == NULL) return NULL;
  sd->base = TfLiteDelegateCreate();
  sd->base.data_ = sd;
  sd->base.Prepare = delegate_prepare;
  sd->base.flags = kTfLiteDelegateFlagsAllowDynamicTensors;
  sd->device = device;
  return sd;
}
