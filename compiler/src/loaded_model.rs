//! A model loaded for planning: its file, graph, hash and (optionally) a validated profile.
//! Every terminal of the [`Builder`](crate::Builder) starts here.

use crate::cost::from_graph::GraphCost;
use crate::cost::CostModel;
use crate::graph::Graph;
use crate::model_file::ModelFile;
use crate::placement::{HostClass, HostCost, Placement};
use crate::planner::context::PlanContext;
use crate::planner::model_cost::ModelCost;
use crate::planner::placed_cost::StagePlacement;
use crate::planner::sides::Sides;
use crate::Error;
use std::path::Path;
use std::sync::OnceLock;
use tpupipe_runtime::plan::{Profile, ProfileIndex};

/// A model file with its analysed graph.
pub struct LoadedModel {
    file: ModelFile,
    graph: Graph,
    /// Computed on first use: hashing costs about as much as writing the segments, so
    /// [`Builder::split`](crate::Builder::split) hashes on a second thread while it writes.
    sha256: OnceLock<String>,
    name: String,
    profile: Option<ProfileIndex>,
    host_cores: usize,
    /// Set by the [`Builder`](crate::Builder) (its runtime version and host-cost setting);
    /// absent: [`Placement::predict`] and the x86-64 desktop rates.
    placement: Option<(Placement, HostCost)>,
}

/// The host cores CPU stages share when not told: the host's available parallelism.
pub fn default_host_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl LoadedModel {
    /// Builds the graph of an opened model file and hashes it.
    pub fn new(file: ModelFile) -> Result<LoadedModel, Error> {
        let view = file.view()?;
        let graph = Graph::build(&view).map_err(|source| Error::Graph {
            path: file.path().to_path_buf(),
            source,
        })?;
        let name = file.file_name();
        Ok(LoadedModel {
            file,
            graph,
            sha256: OnceLock::new(),
            name,
            profile: None,
            host_cores: default_host_cores(),
            placement: None,
        })
    }

    /// Reads the profile at `path` and checks it against this model.
    pub fn with_profile(mut self, path: &Path) -> Result<LoadedModel, Error> {
        let profile = Profile::read(path)?;
        let index = profile.validate(path, &self.name, self.sha256(), self.graph.len())?;
        self.profile = Some(index);
        Ok(self)
    }

    /// The same model, planned for `cores` host cores shared by its CPU stages (default: the
    /// host's available parallelism).
    pub fn with_host_cores(mut self, cores: usize) -> LoadedModel {
        self.host_cores = cores.max(1);
        self
    }

    /// The host cores CPU stages share.
    pub fn host_cores(&self) -> usize {
        self.host_cores
    }

    /// The same model with a given placement and host cost (the [`Builder`](crate::Builder)
    /// sets them from its options).
    pub fn with_placement(mut self, placement: Placement, host: HostCost) -> LoadedModel {
        self.placement = Some((placement, host));
        self
    }

    /// The host cost the plans use, when one was set ([`LoadedModel::with_placement`]).
    pub fn host_cost(&self) -> Option<&HostCost> {
        self.placement.as_ref().map(|(_, h)| h)
    }

    /// Where each operator runs and what the host costs: as set by
    /// [`LoadedModel::with_placement`], else [`Placement::predict`] and the rates of an x86-64
    /// desktop ([`HostClass::X86Desktop`]) on the configured cores.
    pub fn stage_placement(&self) -> Result<StagePlacement, Error> {
        let (placement, host) = match &self.placement {
            Some((p, h)) => (p.clone(), h.clone()),
            None => {
                let view = self.file.view()?;
                (
                    Placement::predict(&view, &self.graph),
                    HostCost::from_rates(&self.graph, HostClass::X86Desktop, self.host_cores),
                )
            }
        };
        Ok(StagePlacement::new(
            Sides::from_placement(&placement, &self.graph),
            host,
        ))
    }

    /// The model file.
    pub fn file(&self) -> &ModelFile {
        &self.file
    }

    /// Its operator graph.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// Lowercase hex SHA-256 of the file.
    pub fn sha256(&self) -> &str {
        self.sha256.get_or_init(|| self.file.sha256())
    }

    /// The file name (no directory).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Number of operators.
    pub fn op_count(&self) -> usize {
        self.graph.len()
    }

    /// The validated profile, if one was loaded.
    pub fn profile(&self) -> Option<&ProfileIndex> {
        self.profile.as_ref()
    }

    /// Runs `f` with a planning context over this model's costs under `cost` (and the profile,
    /// if loaded), knowing where each operator runs ([`LoadedModel::stage_placement`]). The
    /// context borrows the graph's cost tables, which live only for the call.
    pub fn with_context<R>(&self, cost: CostModel, f: impl FnOnce(&PlanContext<'_>) -> R) -> R {
        let source = GraphCost::new(&self.graph);
        let ctx = PlanContext::new(
            ModelCost::new(&source, cost),
            Some(&self.graph),
            self.profile.clone(),
        );
        // The file was verified when the graph was built, so its view opens again.
        let ctx = match self.stage_placement() {
            Ok(p) => ctx.with_placement(p),
            Err(_) => ctx,
        };
        f(&ctx)
    }
}
