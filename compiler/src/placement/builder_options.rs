//! The [`Builder`]'s placement options: how the host CPU cost of CPU operators is found, and
//! the placement and host cost of a loaded model under those options.

use super::host_cost::measure::{self, MeasureOptions};
use super::{HostCost, HostCostSetting, Placement};
use crate::loaded_model::LoadedModel;
use crate::{Builder, Error};

impl Builder {
    /// How plans get the host CPU cost of the operators left on the CPU (default
    /// [`HostCostSetting::Measure`]: measured with tpupipe's interpreter on this host, cached;
    /// `Rates(class)` opts out of measuring).
    pub fn host_cost(mut self, setting: HostCostSetting) -> Builder {
        self.host_cost = setting;
        self
    }

    /// The host-cost setting in force.
    pub fn host_cost_setting(&self) -> HostCostSetting {
        self.host_cost
    }

    /// The predicted placement of every operator of `model` (for the runtime version the
    /// builder compiles for, 14 by default).
    pub fn placement_of(&self, model: &LoadedModel) -> Result<Placement, Error> {
        let view = model.file().view()?;
        Ok(match self.compile.min_runtime_version {
            Some(r) => Placement::predict_for_runtime(&view, model.graph(), r),
            None => Placement::predict(&view, model.graph()),
        })
    }

    /// The host cost of every position of `model` whose placement is `placement`, on `cores`
    /// host cores: measured for the CPU positions (cached in the builder's cache directory)
    /// unless the setting names a host class.
    pub fn host_cost_of(
        &self,
        model: &LoadedModel,
        placement: &Placement,
        cores: usize,
    ) -> Result<HostCost, Error> {
        Ok(match self.host_cost {
            HostCostSetting::Rates(class) => HostCost::from_rates(model.graph(), class, cores),
            HostCostSetting::Measure => {
                let view = model.file().view()?;
                let options = MeasureOptions {
                    cache_dir: Some(self.compile.cache_root()),
                    ..MeasureOptions::default()
                };
                measure::measure(
                    &view,
                    model.graph(),
                    placement,
                    model.sha256(),
                    cores,
                    &options,
                )
            }
        })
    }
}
