//! Resource type names as the official type catalogue spells them. The official compiler
//! writes a resource's `type` as its catalogue spells it for the declared api-version,
//! whatever casing the file uses (`Microsoft.Network/dnszones@2018-05-01` → `dnsZones`).
//! We do not ship that catalogue; this is the spelling of common types, checked against the
//! generated types of Azure/bicep-types-az: each is spelled the same in every api-version
//! there, except the few old versions in `OLD_SPELLINGS`. A type not listed is written as
//! the file spells it.

/// The catalogue's spelling of `full_type` at `api_version` (matched ignoring case), if we
/// know it.
pub fn canonical(full_type: &str, api_version: &str) -> Option<&'static str> {
    if let Some((spelling, _)) = OLD_SPELLINGS.iter().find(|(spelling, versions)| {
        spelling.eq_ignore_ascii_case(full_type)
            && versions.iter().any(|v| v.eq_ignore_ascii_case(api_version))
    }) {
        return Some(spelling);
    }
    KNOWN
        .iter()
        .copied()
        .find(|known| known.eq_ignore_ascii_case(full_type))
}

/// Old api-versions whose generated types spell a listed type differently.
const OLD_SPELLINGS: &[(&str, &[&str])] = &[
    (
        "Microsoft.Authorization/policyassignments",
        &["2015-10-01-preview", "2016-04-01"],
    ),
    (
        "Microsoft.Authorization/policydefinitions",
        &["2015-10-01-preview", "2015-11-01", "2016-04-01"],
    ),
    (
        "Microsoft.EventHub/namespaces/AuthorizationRules",
        &["2014-09-01", "2015-08-01"],
    ),
    ("Microsoft.Network/dnszones", &["2015-05-04-preview"]),
    ("Microsoft.Network/dnszones/A", &["2015-05-04-preview"]),
    ("Microsoft.Network/dnszones/AAAA", &["2015-05-04-preview"]),
    ("Microsoft.Network/dnszones/CNAME", &["2015-05-04-preview"]),
    ("Microsoft.Network/dnszones/MX", &["2015-05-04-preview"]),
    ("Microsoft.Network/dnszones/NS", &["2015-05-04-preview"]),
    ("Microsoft.Network/dnszones/PTR", &["2015-05-04-preview"]),
    ("Microsoft.Network/dnszones/SOA", &["2015-05-04-preview"]),
    ("Microsoft.Network/dnszones/SRV", &["2015-05-04-preview"]),
    ("Microsoft.Network/dnszones/TXT", &["2015-05-04-preview"]),
    ("Microsoft.Network/virtualnetworks", &["2015-05-01-preview"]),
    (
        "Microsoft.Network/virtualnetworks/subnets",
        &["2015-05-01-preview", "2015-06-15"],
    ),
];

const KNOWN: &[&str] = &[
    "Microsoft.Authorization/locks",
    "Microsoft.Authorization/policyAssignments",
    "Microsoft.Authorization/policyDefinitions",
    "Microsoft.Authorization/roleAssignments",
    "Microsoft.Authorization/roleDefinitions",
    "Microsoft.Compute/availabilitySets",
    "Microsoft.Compute/disks",
    "Microsoft.Compute/virtualMachineScaleSets",
    "Microsoft.Compute/virtualMachines",
    "Microsoft.Compute/virtualMachines/extensions",
    "Microsoft.ContainerRegistry/registries",
    "Microsoft.ContainerService/managedClusters",
    "Microsoft.DocumentDB/databaseAccounts",
    "Microsoft.EventHub/namespaces",
    "Microsoft.EventHub/namespaces/authorizationRules",
    "Microsoft.EventHub/namespaces/eventhubs",
    "Microsoft.HardwareSecurityModules/cloudHsmClusters",
    "Microsoft.HardwareSecurityModules/cloudHsmClusters/privateEndpointConnections",
    "Microsoft.KeyVault/vaults",
    "Microsoft.KeyVault/vaults/accessPolicies",
    "Microsoft.KeyVault/vaults/keys",
    "Microsoft.KeyVault/vaults/secrets",
    "Microsoft.Logic/workflows",
    "Microsoft.ManagedIdentity/userAssignedIdentities",
    "Microsoft.Network/applicationGateways",
    "Microsoft.Network/azureFirewalls",
    "Microsoft.Network/bastionHosts",
    "Microsoft.Network/dnsZones",
    "Microsoft.Network/dnsZones/A",
    "Microsoft.Network/dnsZones/AAAA",
    "Microsoft.Network/dnsZones/CAA",
    "Microsoft.Network/dnsZones/CNAME",
    "Microsoft.Network/dnsZones/MX",
    "Microsoft.Network/dnsZones/NS",
    "Microsoft.Network/dnsZones/PTR",
    "Microsoft.Network/dnsZones/SOA",
    "Microsoft.Network/dnsZones/SRV",
    "Microsoft.Network/dnsZones/TXT",
    "Microsoft.Network/frontDoors",
    "Microsoft.Network/loadBalancers",
    "Microsoft.Network/natGateways",
    "Microsoft.Network/networkInterfaces",
    "Microsoft.Network/networkSecurityGroups",
    "Microsoft.Network/networkSecurityGroups/securityRules",
    "Microsoft.Network/privateDnsZones",
    "Microsoft.Network/privateDnsZones/virtualNetworkLinks",
    "Microsoft.Network/privateEndpoints",
    "Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
    "Microsoft.Network/publicIPAddresses",
    "Microsoft.Network/routeTables",
    "Microsoft.Network/virtualNetworks",
    "Microsoft.Network/virtualNetworks/subnets",
    "Microsoft.Network/virtualNetworks/virtualNetworkPeerings",
    "Microsoft.OperationalInsights/workspaces",
    "Microsoft.Resources/deploymentScripts",
    "Microsoft.Resources/deployments",
    "Microsoft.Resources/resourceGroups",
    "Microsoft.Resources/tags",
    "Microsoft.Resources/templateSpecs",
    "Microsoft.Sql/servers",
    "Microsoft.Sql/servers/databases",
    "Microsoft.Sql/servers/firewallRules",
    "Microsoft.Storage/storageAccounts",
    "Microsoft.Storage/storageAccounts/blobServices",
    "Microsoft.Storage/storageAccounts/blobServices/containers",
    "Microsoft.Storage/storageAccounts/fileServices",
    "Microsoft.Storage/storageAccounts/fileServices/shares",
    "Microsoft.Storage/storageAccounts/queueServices",
    "Microsoft.Storage/storageAccounts/queueServices/queues",
    "Microsoft.Storage/storageAccounts/tableServices",
    "Microsoft.Storage/storageAccounts/tableServices/tables",
    "Microsoft.Web/certificates",
    "Microsoft.Web/connections",
    "Microsoft.Web/customApis",
    "Microsoft.Web/serverfarms",
    "Microsoft.Web/sites",
    "Microsoft.Web/sites/config",
    "Microsoft.Web/sites/extensions",
    "Microsoft.Web/sites/slots",
    "Microsoft.Web/staticSites",
];
