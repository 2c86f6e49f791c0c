//! The fitted constants of the Edge TPU cost model.
//!
//! Every figure below was fitted to the single-TPU measurements in `../shared/calibration`
//! (J. Villarrubia's thesis data behind "Improving inference time in multi-TPU systems with
//! profiled model segmentation": `fc_L4_1tpu.csv`, 4 x Dense(N) on a 64-wide input plus
//! Dense(10), N = 100..2620; `conv_L5_1tpu.csv`, 5 x Conv2D(F, 3x3, same) on 64x64x3,
//! F = 32..702). The fits were least squares on relative error; the calibration test
//! (`compiler/tests/calibration.rs`) re-checks them against the CSV files and
//! `docs/cost-model.md` reports the resulting errors. The measurements do not say whether the
//! TPU sat on USB 3 or PCIe; the fit is taken as the USB 3 figure.

/// Bytes in one MiB.
pub const MIB: f64 = 1024.0 * 1024.0;

/// On-chip parameter cache usable by one segment: 7.80 MiB. Both sweeps bracket it: FC N=1980
/// cached 7.72 MiB of whole layers (so the budget is at least that), FC N=1620 could not add a
/// 2.59 MiB layer to 5.30 MiB (so it is below 7.89 MiB), and conv F=452 could not cache all of
/// its 7.98 MiB. 7.80 MiB reproduces every on-chip/off-chip figure of both sweeps within 2%.
pub const ON_CHIP_BUDGET_BYTES: u64 = 8_178_892;

/// A segment whose input is a large activation caches less: the budget is at most this many
/// bytes minus the segment's input bytes (8.50 MiB). Not in `../shared/calibration`: fitted to
/// the thesis's multi-segment runs of the conv family (public repository
/// Jorgitou98/EdgeTPU-QuantRL-Evaluation, `CONV_MACs/results/*-seg2-batch1.csv` and
/// `*-seg4-batch100.csv`): a segment reading a 64x64xF tensor cached 6.50 MiB with a 1.92 MiB
/// input but not 6.66 MiB with 1.96 MiB, and 5.66 MiB with 2.23 MiB but not 6.43 MiB with
/// 2.27 MiB, which brackets the constant to 8.42..8.62 MiB. Single models (tiny inputs) are
/// limited by [`ON_CHIP_BUDGET_BYTES`] instead.
pub const INPUT_LIMITED_BUDGET_BYTES: u64 = 8_912_896;

/// FULLY_CONNECTED weights `[out, in]` are stored with `in` padded to a multiple of 64 and `out`
/// to a multiple of 8 (fit over the FC sweep's total on+off-chip bytes: max error 0.7%).
pub const FC_IN_ALIGN: u64 = 64;
/// See [`FC_IN_ALIGN`].
pub const FC_OUT_ALIGN: u64 = 8;
/// Bytes stored per (padded) FC output channel besides the weights: bias and requantisation
/// parameters (same fit as [`FC_IN_ALIGN`]).
pub const FC_PER_OUTPUT_BYTES: u64 = 10;

/// CONV_2D filters `[out, kh, kw, in]` are stored with `in` padded to a multiple of 4 and `out`
/// to a multiple of 64 (fit over the conv sweep's total on+off-chip bytes: max error 0.5%).
pub const CONV_IN_ALIGN: u64 = 4;
/// See [`CONV_IN_ALIGN`]. Also the lane width used for depthwise channels.
pub const CONV_OUT_ALIGN: u64 = 64;
/// Bytes stored per (padded) conv output channel besides the weights (same fit).
pub const CONV_PER_OUTPUT_BYTES: u64 = 8;

/// Fixed cost of one invoke on a USB 3 TPU, ms: the intercept of the joint FC fit
/// `t = a + b*MACs + s*off_MiB + c*[off > 0]` (a = 0.107 ms).
pub const INVOKE_OVERHEAD_MS: f64 = 0.107;

/// Host-to-device transfer over USB 3, ms per MiB: the slope of the same FC fit against
/// streamed MiB (2.68 ms/MiB, ~373 MiB/s; the thesis quotes 2.71 ms/MiB). FC weights stream
/// once per inference, so this is the link's effective rate.
pub const USB3_MS_PER_MIB: f64 = 2.682;

/// Extra cost when any parameter streams (buffer setup), ms: `c` of the FC fit (0.268 ms).
pub const STREAM_SETUP_MS: f64 = 0.268;

/// FULLY_CONNECTED compute, ms per million MACs: `b` of the FC fit (~75 GMAC/s; FC layers are
/// bound by reading their weights, not by the MAC array).
pub const FC_MS_PER_MMAC: f64 = 0.013_38;

/// Convolution compute, ms per billion *padded* MACs (input channels padded to 4, output
/// channels to 64, the stored layout): fit over the conv rows with nothing streamed,
/// `t - a = k*padded_MACs + r*output_MiB` gives k = 0.636 ms/GMAC (1.57 TMAC/s padded, about
/// 1.4 TOPS on the raw MACs at F=442, as the thesis reports).
pub const CONV_MS_PER_PADDED_GMAC: f64 = 0.6357;

/// Device-to-host output cost, ms per MiB: `r` of the conv fit (12.18 ms/MiB). The conv sweep's
/// only term linear in F is its 64x64xF int8 output; it costs far more than the host-to-device
/// rate, which we read as the link transfer plus the driver's re-layout of the TPU's tiled
/// output on the host. The re-layout part (12.18 - 2.68) does not depend on the link.
pub const OUTPUT_RELAYOUT_MS_PER_MIB: f64 = 12.18 - USB3_MS_PER_MIB;

/// Streaming a conv layer's weights at 64x64 output positions costs this many times the link
/// rate: fit over the conv rows with streamed layers after subtracting the on-chip model
/// (median 8.96 ms/MiB = 3.34 x 2.68). Conv weights that do not fit on chip are re-streamed for
/// each block of output positions the MAC array works through. Rows with three streamed layers
/// (F >= 642) measured 13.2 ms/MiB, so the model underestimates them.
pub const CONV_STREAM_REFETCH_AT_64X64: f64 = 3.34;

/// Output positions (batch x height x width) covered by one fetch of a streamed conv layer's
/// weights: `64 x 64 / 3.34` = 1226, about 35x35. A streamed conv layer's weights cross the link
/// `max(1, positions / 1226)` times ([`crate::cost::Layer::stream_refetch`]). The conv sweep
/// (all layers at 64x64) fixes only the ratio; the floor of one fetch for small spatial sizes
/// is what real CNNs need: ResNet-50 streams ~17 MiB of 14x14 and 7x7 layers on one USB 3 TPU
/// and Coral publishes 49 ms for it, which leaves ~2.6 ms/MiB for streaming, the bare link rate
/// (a constant factor of 3.34 predicted 144 ms). See `docs/cost-model.md`, "Real CNNs".
pub const CONV_POSITIONS_PER_FETCH: f64 = 64.0 * 64.0 / CONV_STREAM_REFETCH_AT_64X64;

/// Fixed cost of each convolution-class layer (CONV_2D, DEPTHWISE_CONV_2D), ms. Not
/// constrained by the sweeps (five conv layers each; absorbed in their 3% error). Set from
/// Coral's published MobileNet v2 figure (2.6 ms on a desktop CPU with the USB Accelerator,
/// coral.ai/docs/edgetpu/benchmarks): without it the model predicts 0.79 ms for the repository's
/// MobileNet v2; the 1.8 ms difference spread over its 52 conv-class layers is 0.035 ms each.
pub const CONV_LAYER_FIXED_MS: f64 = 0.035;

/// Elementwise / pooling / (de)quantisation work, ms per million elements. Not constrained by
/// the sweeps (their elementwise work is tiny); an estimate of a 64-lane vector unit at
/// 500 MHz (unconfirmed).
pub const ELEMENTWISE_MS_PER_MELEM: f64 = 0.03;

/// Host overhead added per pipeline stage (thread hand-off and queueing), ms. The thesis
/// measured ~0.25 ms per stage for a Python thread+queue pipeline; used as an upper bound.
pub const HOST_STAGE_OVERHEAD_MS: f64 = 0.25;

/// PCIe Gen2 x1 host-to-device rate, ms per MiB: ~500 MB/s nominal (unconfirmed estimate,
/// not measured by the sweeps).
pub const PCIE_MS_PER_MIB: f64 = 2.1;
/// PCIe invoke overhead, ms (unconfirmed estimate: no USB transaction setup).
pub const PCIE_INVOKE_OVERHEAD_MS: f64 = 0.06;
/// USB 2 transfers are ~5x slower than USB 3 (edgetpu issue #352, Dev Board Mini).
pub const USB2_SLOWDOWN: f64 = 5.0;
