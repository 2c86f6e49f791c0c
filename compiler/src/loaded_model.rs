//! A model loaded for planning: its file, graph, hash and (optionally) a validated profile.
//! Every terminal of the [`Builder`](crate::Builder) starts here.

use crate::cost::from_graph::GraphCost;
use crate::cost::CostModel;
use crate::graph::Graph;
use crate::model_file::ModelFile;
use crate::planner::context::PlanContext;
use crate::planner::model_cost::ModelCost;
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
        })
    }

    /// Reads the profile at `path` and checks it against this model.
    pub fn with_profile(mut self, path: &Path) -> Result<LoadedModel, Error> {
        let profile = Profile::read(path)?;
        let index = profile.validate(path, &self.name, self.sha256(), self.graph.len())?;
        self.profile = Some(index);
        Ok(self)
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
    /// if loaded). The context borrows the graph's cost tables, which live only for the call.
    pub fn with_context<R>(&self, cost: CostModel, f: impl FnOnce(&PlanContext<'_>) -> R) -> R {
        let source = GraphCost::new(&self.graph);
        let ctx = PlanContext::new(
            ModelCost::new(&source, cost),
            Some(&self.graph),
            self.profile.clone(),
        );
        f(&ctx)
    }
}
