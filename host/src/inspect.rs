//! What `palisade plugin inspect` shows about a plugin component: identity, rules, what it
//! imports from the host (and whether it is pure: no WASI), what it exports, digest and size.

use std::fmt::Write as _;

use serde::Serialize;

use crate::engine::Plugin;
use crate::findings::Severity;

/// A plugin component, as `palisade plugin inspect` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inspection {
    pub name: String,
    pub version: String,
    /// Hex sha256 of the component.
    pub sha256: String,
    /// Size of the component in bytes.
    pub size: u64,
    pub rules: Vec<InspectedRule>,
    pub imports: Imports,
    /// The interfaces and functions it exports.
    pub exports: Vec<String>,
}

/// A rule, in brief.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InspectedRule {
    pub id: String,
    pub severity: Severity,
    pub kinds: Vec<String>,
}

/// A component's imports, grouped by who provides them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Imports {
    /// `palisade:policy/*` interfaces, provided by the host.
    pub palisade: Vec<String>,
    /// `wasi:*` interfaces, provided by the (empty, deny-all) WASI sandbox.
    pub wasi: Vec<String>,
    /// True when it imports no WASI at all and so is linked without it.
    pub pure: bool,
}

/// Describes a loaded plugin whose component is `size` bytes.
pub fn inspect(plugin: &Plugin, size: u64) -> Inspection {
    let info = plugin.info();
    // `Engine::load` refuses any other import, so these two groups are all of them.
    let (wasi, palisade): (Vec<String>, Vec<String>) = plugin
        .imports()
        .iter()
        .cloned()
        .partition(|i| i.starts_with("wasi:"));
    Inspection {
        name: info.name.clone(),
        version: info.version.clone(),
        sha256: plugin.digest().to_string(),
        size,
        rules: info
            .rules
            .iter()
            .map(|r| InspectedRule {
                id: r.id.clone(),
                severity: r.severity,
                kinds: r.kinds.clone(),
            })
            .collect(),
        imports: Imports {
            pure: !plugin.uses_wasi(),
            palisade,
            wasi,
        },
        exports: plugin.exports().to_vec(),
    }
}

impl Inspection {
    /// The human report.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{} {}", self.name, self.version);
        let _ = writeln!(out, "  sha256  {}", self.sha256);
        let _ = writeln!(out, "  size    {} bytes", self.size);
        let _ = writeln!(out, "rules ({})", self.rules.len());
        let width = self.rules.iter().map(|r| r.id.len()).max().unwrap_or(0);
        for r in &self.rules {
            let _ = writeln!(
                out,
                "  {:width$}  {:8}  {}",
                r.id,
                r.severity.as_str(),
                r.kinds.join(", ")
            );
        }
        let _ = writeln!(out, "imports");
        let list = |names: &[String]| {
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        };
        let _ = writeln!(out, "  palisade host  {}", list(&self.imports.palisade));
        if self.imports.pure {
            let _ = writeln!(out, "  WASI           none (pure: no WASI)");
        } else {
            let _ = writeln!(out, "  WASI           {}", list(&self.imports.wasi));
        }
        let _ = writeln!(out, "exports");
        for e in &self.exports {
            let _ = writeln!(out, "  {e}");
        }
        out
    }
}
