//! The types of resource body parts that `resourceInput<'T@v'>.x` / `resourceOutput<>` name.
//!
//! The official compiler reads them from its resource type catalogue (thousands of types we
//! do not ship). We know the envelope every ARM resource shares, and a few documented parts of
//! specific types; a path we cannot type is refused (BCP901) rather than emitted with a guess.

/// The ARM type name (`string`, `object`...) of the part at `pointer` below a resource body
/// of type `resource` (`Type@version`); Some(None) where it is `any`; None where unknown.
pub fn type_name(resource: &str, pointer: &[String]) -> Option<Option<&'static str>> {
    let resource_type = resource
        .split_once('@')
        .map(|(t, _)| t)
        .unwrap_or(resource)
        .to_ascii_lowercase();
    let path = pointer.join("/").to_ascii_lowercase();
    if path.is_empty() {
        return Some(Some("object"));
    }
    if let Some(found) = SPECIFIC
        .iter()
        .find(|(t, p, _)| *t == resource_type && *p == path)
    {
        return Some(Some(found.2));
    }
    // The emulator's own types, from the JSON Schemas its control plane validates with
    // (the pointer walks the body schema as it is: `properties/<name>/items/...`).
    let type_name = resource.split_once('@').map(|(t, _)| t).unwrap_or(resource);
    if let Some(found) =
        crate::type_checker::resource_schemas::derived_type_name(type_name, pointer)
    {
        return Some(Some(found));
    }
    ENVELOPE
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, type_name)| Some(*type_name))
}

/// Top-level properties of every resource body (ARM's resource envelope).
const ENVELOPE: &[(&str, &str)] = &[
    ("properties/name", "string"),
    ("properties/id", "string"),
    ("properties/type", "string"),
    ("properties/apiversion", "string"),
    ("properties/location", "string"),
    ("properties/kind", "string"),
    ("properties/etag", "string"),
    ("properties/managedby", "string"),
    ("properties/tags", "object"),
    ("properties/tags/additionalproperties", "string"),
    ("properties/properties", "object"),
    ("properties/sku", "object"),
    ("properties/identity", "object"),
    ("properties/plan", "object"),
    ("properties/extendedlocation", "object"),
    ("properties/zones", "array"),
    ("properties/zones/items", "string"),
];

/// Documented parts of particular resource types (their ARM REST API specifications).
const SPECIFIC: &[(&str, &str, &str)] = &[
    (
        "microsoft.resources/tags",
        "properties/properties/properties/tags",
        "object",
    ),
    (
        "microsoft.resources/tags",
        "properties/properties/properties/tags/additionalproperties",
        "string",
    ),
    (
        "microsoft.keyvault/vaults",
        "properties/properties/properties/tenantid",
        "string",
    ),
    (
        "microsoft.keyvault/vaults",
        "properties/properties/properties/sku",
        "object",
    ),
    (
        "microsoft.keyvault/vaults",
        "properties/properties/properties/accesspolicies",
        "array",
    ),
    (
        "microsoft.keyvault/vaults",
        "properties/properties/properties/accesspolicies/items",
        "object",
    ),
    (
        "microsoft.keyvault/vaults",
        "properties/properties/properties/enabledfordeployment",
        "bool",
    ),
    (
        "microsoft.keyvault/vaults",
        "properties/properties/properties/enablerbacauthorization",
        "bool",
    ),
    (
        "microsoft.storage/storageaccounts",
        "properties/sku/properties/name",
        "string",
    ),
    (
        "microsoft.hardwaresecuritymodules/cloudhsmclusters",
        "properties/sku/properties/name",
        "string",
    ),
];
