//! What a template's expressions see: its parameters, variables (evaluated
//! once, on first use), user-defined functions, copy indexes, the scope it
//! is deployed to, and — through a [`ResourceReader`] — the resources it
//! has deployed (`reference()`, `list*()`).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::{
    expressions::{self, Context, ExprError},
    template::{member, Template},
    DeploymentScope,
};

/// Reads deployed resources for `reference()` and posts `list*` actions; the
/// executor implements it over the ARM pipeline.
pub trait ResourceReader: Send + Sync {
    fn get(&self, resource_id: &str, api_version: Option<&str>) -> Result<Value, String>;
    fn post(
        &self,
        resource_id: &str,
        action: &str,
        api_version: &str,
        body: Option<&Value>,
    ) -> Result<Value, String>;
}

/// Everything about a deployment that does not change while it runs.
pub struct Frame {
    pub template: Template,
    pub parameters: Map<String, Value>,
    pub scope: DeploymentScope,
    pub deployment_name: String,
    pub tenant_id: String,
    pub subscription_display_name: String,
    /// `resourceGroup()` for a group-scope deployment.
    pub resource_group: Option<Value>,
    pub base_url: String,
    pub template_hash: String,
    pub mode: String,
    pub now: DateTime<Utc>,
    /// Symbolic name (languageVersion 2.0) or resource name → resource id.
    pub names: Mutex<HashMap<String, String>>,
    /// Set when the deployment starts running: names, ids, conditions and
    /// copy counts are evaluated before any resource can be read.
    pub reader: std::sync::OnceLock<Arc<dyn ResourceReader>>,
    variables: Mutex<HashMap<String, Value>>,
}

impl Frame {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        template: Template,
        parameters: Map<String, Value>,
        scope: DeploymentScope,
        deployment_name: String,
        tenant_id: String,
        resource_group: Option<Value>,
        base_url: String,
        template_hash: String,
        mode: String,
    ) -> Self {
        Self {
            template,
            parameters,
            scope,
            deployment_name,
            tenant_id,
            subscription_display_name: "Cloud HSM Emulator".into(),
            resource_group,
            base_url,
            template_hash,
            mode,
            now: Utc::now(),
            names: Mutex::new(HashMap::new()),
            reader: std::sync::OnceLock::new(),
            variables: Mutex::new(HashMap::new()),
        }
    }
}

/// One evaluation site: the frame plus the copy loops it sits in.
#[derive(Clone)]
pub struct TemplateContext<'a> {
    pub frame: &'a Frame,
    /// `(loop name, index)`, innermost last.
    pub copies: Vec<(String, i64)>,
    /// Variables being evaluated, to report a cycle instead of recursing.
    resolving: Vec<String>,
    /// Inside a user-defined function: its arguments replace the template's
    /// parameters, and variables are out of reach (as ARM rules).
    function_arguments: Option<Map<String, Value>>,
}

impl<'a> TemplateContext<'a> {
    pub fn new(frame: &'a Frame) -> Self {
        Self {
            frame,
            copies: Vec::new(),
            resolving: Vec::new(),
            function_arguments: None,
        }
    }

    pub fn in_copy(&self, loop_name: &str, index: i64) -> Self {
        let mut next = self.clone();
        next.copies.push((loop_name.to_string(), index));
        next
    }

    pub fn eval(&self, value: &Value) -> Result<Value, ExprError> {
        expressions::evaluate_json(value, self)
    }

    /// A variable's value; a variable `copy` array builds its arrays.
    fn evaluate_variable(&self, name: &str, declared: &Value) -> Result<Value, ExprError> {
        let mut inner = self.clone();
        inner.resolving.push(name.to_ascii_lowercase());
        if name.eq_ignore_ascii_case("copy") {
            if let Value::Array(loops) = declared {
                // The top-level `copy` of variables: each entry is a variable.
                let mut out = Map::new();
                for entry in loops {
                    let loop_name = member(entry, "name").and_then(Value::as_str).unwrap_or("");
                    out.insert(loop_name.to_string(), inner.copy_array(entry)?);
                }
                return Ok(Value::Object(out));
            }
        }
        if let Some(Value::Array(loops)) = member(declared, "copy") {
            // A variable object with a `copy` property: its arrays are built
            // and the rest of the object evaluated as usual.
            let mut out = Map::new();
            if let Value::Object(fields) = declared {
                for (k, v) in fields {
                    if !k.eq_ignore_ascii_case("copy") {
                        out.insert(k.clone(), inner.eval(v)?);
                    }
                }
            }
            for entry in loops {
                let loop_name = member(entry, "name").and_then(Value::as_str).unwrap_or("");
                out.insert(loop_name.to_string(), inner.copy_array(entry)?);
            }
            return Ok(Value::Object(out));
        }
        inner.eval(declared)
    }

    /// `{name, count, input}` → the array of `input` for each index.
    pub fn copy_array(&self, entry: &Value) -> Result<Value, ExprError> {
        let loop_name = member(entry, "name").and_then(Value::as_str).unwrap_or("");
        let count = self.eval(member(entry, "count").unwrap_or(&Value::Null))?;
        let count = count.as_i64().ok_or_else(|| {
            ExprError::new(format!(
                "The copy count of '{loop_name}' must be an integer."
            ))
        })?;
        if !(0..=800).contains(&count) {
            return Err(ExprError::new(format!(
                "The copy count '{count}' of '{loop_name}' is not valid: it must be between 0 and 800."
            )));
        }
        let input = member(entry, "input").cloned().unwrap_or(Value::Null);
        let mut items = Vec::with_capacity(count as usize);
        for i in 0..count {
            items.push(self.in_copy(loop_name, i).eval(&input)?);
        }
        Ok(Value::Array(items))
    }

    fn find_function(&self, namespace: &str, name: &str) -> Option<&'a Value> {
        self.frame.template.functions.iter().find_map(|ns| {
            let matches = member(ns, "namespace")
                .and_then(Value::as_str)
                .is_some_and(|n| n.eq_ignore_ascii_case(namespace));
            if !matches {
                return None;
            }
            member(ns, "members")?
                .as_object()?
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
    }

    fn resource_id_for(&self, name: &str) -> Option<String> {
        let names = self.frame.names.lock().ok()?;
        names
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    }
}

impl Context for TemplateContext<'_> {
    fn parameter(&self, name: &str) -> Result<Value, ExprError> {
        let source = self
            .function_arguments
            .as_ref()
            .unwrap_or(&self.frame.parameters);
        source
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .ok_or_else(|| {
                ExprError::new(format!(
                    "The template parameter '{name}' is not found. Please see https://aka.ms/arm-syntax-parameters for usage details."
                ))
            })
    }

    fn variable(&self, name: &str) -> Result<Value, ExprError> {
        if self.function_arguments.is_some() {
            return Err(ExprError::new(
                "The template function 'variables' is not expected at this location: user-defined functions cannot use variables.",
            ));
        }
        let key = name.to_ascii_lowercase();
        if let Some(found) = self
            .frame
            .variables
            .lock()
            .ok()
            .and_then(|v| v.get(&key).cloned())
        {
            return Ok(found);
        }
        if self.resolving.contains(&key) {
            return Err(ExprError::new(format!(
                "The template variable '{name}' refers to itself through '{}'.",
                self.resolving.join("' -> '")
            )));
        }
        let declared = self
            .frame
            .template
            .variables
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone());
        let value = match declared {
            Some(declared) => self.evaluate_variable(name, &declared)?,
            None => {
                // Variables made by the top-level `copy` array.
                let from_copy = self
                    .frame
                    .template
                    .variables
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("copy"))
                    .and_then(|(_, loops)| loops.as_array())
                    .and_then(|loops| {
                        loops.iter().find(|e| {
                            member(e, "name")
                                .and_then(Value::as_str)
                                .is_some_and(|n| n.eq_ignore_ascii_case(name))
                        })
                    })
                    .cloned();
                match from_copy {
                    Some(entry) => self.copy_array(&entry)?,
                    None => {
                        return Err(ExprError::new(format!(
                            "The template variable '{name}' is not found. Please see https://aka.ms/arm-syntax-variables for usage details."
                        )))
                    }
                }
            }
        };
        if let Ok(mut cache) = self.frame.variables.lock() {
            cache.insert(key, value.clone());
        }
        Ok(value)
    }

    fn copy_index(&self, loop_name: Option<&str>) -> Result<i64, ExprError> {
        let found = match loop_name {
            None => self.copies.last(),
            Some(name) => self
                .copies
                .iter()
                .rev()
                .find(|(n, _)| n.eq_ignore_ascii_case(name)),
        };
        found.map(|(_, i)| *i).ok_or_else(|| match loop_name {
            None => ExprError::new(
                "The template function 'copyIndex' is not expected at this location. The function can only be used in a resource with copy specified.",
            ),
            Some(name) => ExprError::new(format!(
                "The template function 'copyIndex' has an invalid copy name '{name}': no copy loop of that name encloses it."
            )),
        })
    }

    fn resource_group(&self) -> Result<Value, ExprError> {
        self.frame.resource_group.clone().ok_or_else(|| {
            ExprError::new(
                "The template function 'resourceGroup' is not expected at this location: the deployment is at subscription scope.",
            )
        })
    }

    fn subscription(&self) -> Result<Value, ExprError> {
        let sub = self.frame.scope.subscription();
        Ok(json!({
            "id": format!("/subscriptions/{sub}"),
            "subscriptionId": sub,
            "tenantId": self.frame.tenant_id,
            "displayName": self.frame.subscription_display_name,
        }))
    }

    fn tenant(&self) -> Result<Value, ExprError> {
        Ok(json!({
            "countryCode": "US",
            "displayName": "Cloud HSM Emulator",
            "id": format!("/tenants/{}", self.frame.tenant_id),
            "tenantId": self.frame.tenant_id,
        }))
    }

    fn deployment(&self) -> Result<Value, ExprError> {
        Ok(json!({
            "name": self.frame.deployment_name,
            "properties": {
                "template": {
                    "contentVersion": member(&self.frame.template.raw, "contentVersion").cloned().unwrap_or(json!("1.0.0.0")),
                    "metadata": member(&self.frame.template.raw, "metadata").cloned().unwrap_or(json!({})),
                },
                "templateHash": self.frame.template_hash,
                "parameters": {},
                "mode": self.frame.mode,
                "provisioningState": "Accepted",
            },
        }))
    }

    fn environment(&self) -> Result<Value, ExprError> {
        let base = format!("{}/", self.frame.base_url);
        Ok(json!({
            "name": "CloudHsmEmulator",
            "gallery": base,
            "graph": base,
            "portal": self.frame.base_url,
            "graphAudience": base,
            "activeDirectoryDataLake": base,
            "batch": base,
            "media": base,
            "sqlManagement": base,
            "vmImageAliasDoc": "",
            "resourceManager": base,
            "authentication": {
                "loginEndpoint": base,
                "audiences": [base, "https://management.azure.com/"],
                "tenant": self.frame.tenant_id,
                "identityProvider": "AAD",
            },
            "suffixes": {
                "acrLoginServer": ".azurecr.io",
                "azureDatalakeAnalyticsCatalogAndJob": "azuredatalakeanalytics.net",
                "azureDatalakeStoreFileSystem": "azuredatalakestore.net",
                "azureFrontDoorEndpointSuffix": "azurefd.net",
                "keyvaultDns": ".vault.azure.net",
                "sqlServerHostname": ".database.windows.net",
                "storage": "core.windows.net",
            },
        }))
    }

    fn reference(
        &self,
        resource: &str,
        api_version: Option<&str>,
        full: bool,
    ) -> Result<Value, ExprError> {
        let reader = self.frame.reader.get().ok_or_else(|| {
            ExprError::new(
                "The template function 'reference' is not expected at this location. It can only be used in resource properties and outputs, not in names, ids, conditions or copy counts.",
            )
        })?;
        let id = if resource.starts_with('/') {
            resource.to_string()
        } else {
            self.resource_id_for(resource).ok_or_else(|| {
                ExprError::new(format!(
                    "The template resource '{resource}' is not defined in the template."
                ))
            })?
        };
        let body = reader.get(&id, api_version).map_err(ExprError::new)?;
        if full {
            return Ok(body);
        }
        Ok(member(&body, "properties").cloned().unwrap_or(json!({})))
    }

    fn list(
        &self,
        action: &str,
        resource_id: &str,
        api_version: &str,
        body: Option<&Value>,
    ) -> Result<Value, ExprError> {
        let reader = self.frame.reader.get().ok_or_else(|| {
            ExprError::new(format!(
                "The template function '{action}' is not expected at this location."
            ))
        })?;
        let id = if resource_id.starts_with('/') {
            resource_id.to_string()
        } else {
            self.resource_id_for(resource_id)
                .unwrap_or_else(|| resource_id.to_string())
        };
        reader
            .post(&id, action, api_version, body)
            .map_err(ExprError::new)
    }

    fn user_function(
        &self,
        namespace: &str,
        name: &str,
        args: &[Value],
    ) -> Result<Value, ExprError> {
        let function = self.find_function(namespace, name).ok_or_else(|| {
            ExprError::new(format!(
                "The template function '{namespace}.{name}' is not valid. Please see https://aka.ms/arm-functions for usage details."
            ))
        })?;
        let declared = member(function, "parameters")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if declared.len() != args.len() {
            return Err(ExprError::new(format!(
                "The template function '{namespace}.{name}' expects {} argument(s), but {} were given.",
                declared.len(),
                args.len()
            )));
        }
        let mut arguments = Map::new();
        for (param, value) in declared.iter().zip(args) {
            let param_name = member(param, "name").and_then(Value::as_str).unwrap_or("");
            arguments.insert(param_name.to_string(), value.clone());
        }
        let output = member(function, "output")
            .and_then(|o| member(o, "value"))
            .cloned()
            .unwrap_or(Value::Null);
        let inner = TemplateContext {
            frame: self.frame,
            copies: Vec::new(),
            resolving: self.resolving.clone(),
            function_arguments: Some(arguments),
        };
        inner.eval(&output)
    }

    fn utc_now(&self) -> DateTime<Utc> {
        self.frame.now
    }
}
