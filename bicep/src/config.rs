//! `bicepconfig.json`: the nearest one in the file's folder or above, as the official
//! compiler finds it (comments allowed). We read the experimental features that change
//! compilation (`assertions`, `testFramework`) and the linter's rule levels
//! (`analyzers.core.enabled`, `analyzers.core.rules.<rule>.level`).

use crate::emitter::json_writer::{parse_json_with_comments, Json};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default)]
pub struct BicepConfig {
    /// The file read, if any.
    pub path: Option<PathBuf>,
    pub assertions: bool,
    pub test_framework: bool,
    /// Experimental features turned on that change the template in ways this compiler does
    /// not implement (refused rather than ignored).
    pub unsupported_features: Vec<String>,
    /// `analyzers.core.enabled` (true unless set to false).
    pub linter_enabled: bool,
    /// (rule, level) from `analyzers.core.rules`.
    pub rule_levels: Vec<(String, String)>,
    /// `extensions`: alias → registry reference.
    pub extension_aliases: Vec<(String, String)>,
    /// Set when the file exists but is not valid JSON.
    pub error: Option<String>,
}

/// Experimental features whose only effect is on tooling, or that we implement.
const KNOWN_FEATURES: &[&str] = &[
    "assertions",
    "testFramework",
    "symbolicNameCodegen",
    "sourceMapping",
    "extensibility",
    "resourceTypedParamsAndOutputs",
];

impl BicepConfig {
    /// The configuration that applies to `file`.
    pub fn for_file(file: &Path) -> BicepConfig {
        let start = file
            .canonicalize()
            .unwrap_or_else(|_| file.to_path_buf())
            .parent()
            .map(Path::to_path_buf);
        let mut directory = start;
        while let Some(current) = directory {
            let candidate = current.join("bicepconfig.json");
            if candidate.is_file() {
                return BicepConfig::read(&candidate);
            }
            directory = current.parent().map(Path::to_path_buf);
        }
        BicepConfig {
            linter_enabled: true,
            ..BicepConfig::default()
        }
    }

    fn read(path: &Path) -> BicepConfig {
        let mut config = BicepConfig {
            path: Some(path.to_path_buf()),
            linter_enabled: true,
            ..BicepConfig::default()
        };
        let Some(json) = std::fs::read_to_string(path)
            .ok()
            .and_then(|text| parse_json_with_comments(&text))
        else {
            config.error = Some(format!(
                "Failed to parse the contents of the Bicep configuration file \"{}\" as valid JSON.",
                path.display()
            ));
            return config;
        };
        if let Some(Json::Object(features)) = json.get("experimentalFeaturesEnabled") {
            for (name, value) in features {
                if value != &Json::Bool(true) {
                    continue;
                }
                match name.as_str() {
                    "assertions" => config.assertions = true,
                    "testFramework" => config.test_framework = true,
                    known if KNOWN_FEATURES.contains(&known) => {}
                    other => config.unsupported_features.push(other.to_string()),
                }
            }
        }
        if let Some(Json::Object(extensions)) = json.get("extensions") {
            for (alias, reference) in extensions {
                if let Json::String(reference) = reference {
                    config
                        .extension_aliases
                        .push((alias.clone(), reference.clone()));
                }
            }
        }
        if let Some(core) = json.get("analyzers").and_then(|a| a.get("core")) {
            if core.get("enabled") == Some(&Json::Bool(false)) {
                config.linter_enabled = false;
            }
            if let Some(Json::Object(rules)) = core.get("rules") {
                for (rule, settings) in rules {
                    if let Some(Json::String(level)) = settings.get("level") {
                        config.rule_levels.push((rule.clone(), level.clone()));
                    }
                }
            }
        }
        config
    }

    /// The level a linter rule runs at: its configured level, else its default.
    pub fn rule_level<'l>(&'l self, rule: &str, default: &'l str) -> &'l str {
        self.rule_levels
            .iter()
            .find(|(r, _)| r == rule)
            .map(|(_, level)| level.as_str())
            .unwrap_or(default)
    }
}
