//! Checks ARM makes on names and locations, shared by every resource type.

use super::error::ArmError;

/// Regions where the emulated provider offers `cloudHsmClusters` (the regions
/// Azure Cloud HSM was announced in); any is accepted as a display name too.
pub const LOCATIONS: &[(&str, &str)] = &[
    ("eastus", "East US"),
    ("eastus2", "East US 2"),
    ("westus", "West US"),
    ("westus2", "West US 2"),
    ("westus3", "West US 3"),
    ("centralus", "Central US"),
    ("northcentralus", "North Central US"),
    ("southcentralus", "South Central US"),
    ("canadacentral", "Canada Central"),
    ("northeurope", "North Europe"),
    ("westeurope", "West Europe"),
    ("uksouth", "UK South"),
    ("ukwest", "UK West"),
    ("francecentral", "France Central"),
    ("germanywestcentral", "Germany West Central"),
    ("swedencentral", "Sweden Central"),
    ("switzerlandnorth", "Switzerland North"),
    ("southeastasia", "Southeast Asia"),
    ("eastasia", "East Asia"),
    ("japaneast", "Japan East"),
    ("australiaeast", "Australia East"),
    ("centralindia", "Central India"),
    ("koreacentral", "Korea Central"),
    ("brazilsouth", "Brazil South"),
];

/// `East US 2`, `eastus2` and `EastUS2` all become `eastus2`.
pub fn normalise_location(location: &str, resource_type: &str) -> Result<String, ArmError> {
    let compact: String = location
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    LOCATIONS
        .iter()
        .find(|(name, _)| *name == compact)
        .map(|(name, _)| name.to_string())
        .ok_or_else(|| ArmError::BadRequest {
            code: "LocationNotAvailableForResourceType",
            message: format!(
                "The provided location '{location}' is not available for resource type '{resource_type}'. List of available regions for the resource type is '{}'.",
                LOCATIONS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(",")
            ),
            target: Some("location".into()),
        })
}

/// Resource group names: 1-90 characters of letters, digits, `-_.()`, not
/// ending in a period.
pub fn check_resource_group_name(name: &str) -> Result<(), ArmError> {
    let valid_chars = name
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '(' | ')'));
    if (1..=90).contains(&name.chars().count()) && valid_chars && !name.ends_with('.') {
        Ok(())
    } else {
        Err(ArmError::BadRequest {
            code: "InvalidResourceGroupName",
            message: format!(
                "The provided resource group name '{name}' has these invalid characters or length. The name can be 1-90 characters of letters, digits, '-', '_', '.', '(' and ')', and cannot end with a period."
            ),
            target: Some("resourceGroupName".into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_normalise_and_unknown_ones_fail() {
        assert_eq!(normalise_location("East US 2", "t").unwrap(), "eastus2");
        assert_eq!(normalise_location("UKSouth", "t").unwrap(), "uksouth");
        let e = normalise_location("moon", "t").unwrap_err();
        assert_eq!(e.code(), "LocationNotAvailableForResourceType");
    }

    #[test]
    fn group_names() {
        assert!(check_resource_group_name("rg-1_(a).b").is_ok());
        assert!(check_resource_group_name("").is_err());
        assert!(check_resource_group_name("ends.").is_err());
        assert!(check_resource_group_name("bad/char").is_err());
        assert!(check_resource_group_name(&"x".repeat(91)).is_err());
    }
}
