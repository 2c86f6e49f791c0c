//! Adding the cost model's figures to a split plan (`<stem>_plan.json`), so the plan `tpupipe
//! split` writes carries what `tpupipe plan --json` prints, plus the routing.

use super::context::PlanSummary;
use crate::cost::{Clock, HostLink, Interface};
use tpupipe_runtime::plan::{Device, Plan};

/// Fills the optional cost fields of `plan` from `summary` (same cuts).
pub(crate) fn annotate_plan(
    plan: &mut Plan,
    summary: &PlanSummary,
    interface: Interface,
    clock: Clock,
    host_link: HostLink,
) {
    for (seg, report) in plan.segments.iter_mut().zip(&summary.plan.segments) {
        debug_assert_eq!(seg.op_range, report.op_range);
        seg.on_chip_bytes = Some(report.on_chip_bytes);
        seg.off_chip_bytes = Some(report.off_chip_bytes);
        seg.latency_ms = Some(report.latency_ms);
        seg.device = Some(report.device);
    }
    let cpu_stages = summary
        .plan
        .segments
        .iter()
        .any(|s| s.device == Device::Cpu);
    if cpu_stages || summary.plan.segments.iter().any(|s| s.replicas > 1) {
        for (seg, report) in plan.segments.iter_mut().zip(&summary.plan.segments) {
            if report.replicas > 1 {
                seg.replicas = Some(report.replicas);
            }
        }
        plan.tpus_used = Some(summary.tpus);
    }
    let p = &summary.plan.pipeline;
    plan.interface = Some(interface);
    plan.clock = Some(clock);
    plan.host_link = Some(host_link);
    plan.shared_wire_ms = p.shared_wire_ms;
    plan.bottleneck_ms = Some(p.bottleneck_ms);
    plan.latency_ms = Some(p.latency_ms);
    plan.throughput_per_s = Some(p.throughput_per_s);
    plan.single_tpu_ms = Some(summary.single_tpu_ms);
    plan.params_bottleneck_ms = Some(summary.params_bottleneck_ms);
    plan.speedup_vs_one_tpu = Some(summary.speedup_vs_one_tpu);
    plan.speedup_vs_params = Some(summary.speedup_vs_params);
    plan.compiler_ms = Some(summary.compiler_ms);
    plan.speedup_vs_compiler = Some(summary.speedup_vs_compiler);
}
