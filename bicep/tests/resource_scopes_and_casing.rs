//! Resource types written as the official type catalogue spells them, children living where
//! their (extension or tenant) parent lives, and dependencies through `existing` resources
//! (Resources baseline, as our own small cases; languageVersion 1.0 output).

mod support;

use serde_json::json;
use support::compile;

fn resource<'t>(template: &'t serde_json::Value, name: &str) -> &'t serde_json::Value {
    template["resources"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["name"] == name))
        .unwrap_or(&serde_json::Value::Null)
}

#[test]
fn known_types_take_the_catalogue_spelling() {
    let template = compile(
        "resource zone 'Microsoft.Network/dnszones@2018-05-01' = {\n  name: 'z'\n  location: 'global'\n}\n\
         resource farm 'Microsoft.Web/serverFarms@2019-08-01' = {\n  name: 'f'\n  location: 'x'\n}\n\
         resource mine 'My.Rp/someTHING@2020-01-01' = {\n  name: 'm'\n}\n\
         output id string = zone.id\n",
    );
    assert_eq!(
        resource(&template, "z")["type"],
        "Microsoft.Network/dnsZones"
    );
    assert_eq!(
        resource(&template, "f")["type"],
        "Microsoft.Web/serverfarms"
    );
    // Not in what we know of the catalogue: as written.
    assert_eq!(resource(&template, "m")["type"], "My.Rp/someTHING");
    assert_eq!(
        template["outputs"]["id"]["value"],
        "[resourceId('Microsoft.Network/dnsZones', 'z')]"
    );
}

#[test]
fn a_child_lives_where_its_parent_is_scoped() {
    let template = compile(
        "resource base 'Microsoft.Rp1/resource1@2020-06-01' = {\n  name: 'b'\n}\n\
         resource ext 'Microsoft.Rp2/resource2@2020-06-01' = {\n  scope: base\n  name: 'e'\n}\n\
         resource extChild 'Microsoft.Rp2/resource2/child2@2020-06-01' = {\n  parent: ext\n  name: 'c'\n}\n\
         resource top 'Microsoft.Rp1/resource1@2020-06-01' existing = {\n  scope: tenant()\n  name: 't'\n}\n\
         resource topChild 'Microsoft.Rp1/resource1/child1@2020-06-01' existing = {\n  parent: top\n  name: 'tc'\n}\n\
         output childId string = extChild.id\n\
         output tenantChildId string = topChild.id\n",
    );
    let child = resource(&template, "[format('{0}/{1}', 'e', 'c')]");
    assert_eq!(
        child["scope"],
        "[resourceId('Microsoft.Rp1/resource1', 'b')]"
    );
    assert_eq!(
        template["outputs"]["childId"]["value"],
        "[extensionResourceId(resourceId('Microsoft.Rp1/resource1', 'b'), 'Microsoft.Rp2/resource2/child2', 'e', 'c')]"
    );
    assert_eq!(
        template["outputs"]["tenantChildId"]["value"],
        "[tenantResourceId('Microsoft.Rp1/resource1/child1', 't', 'tc')]"
    );
}

#[test]
fn depending_on_an_existing_resource_depends_on_what_it_depends_on() {
    let template = compile(
        "resource vm 'Microsoft.Compute/virtualMachines@2020-06-01' = {\n  name: 'vm'\n  location: 'x'\n}\n\
         resource ext 'My.Rp/extensionResource@2020-12-01' = {\n  scope: vm\n  name: 'ext'\n}\n\
         resource old 'Mock.Rp/existingExtensionResource@2020-01-01' existing = {\n  scope: ext\n  name: 'old'\n}\n\
         resource next 'My.Rp/extensionResource@2020-12-01' = {\n  scope: old\n  name: 'next'\n}\n",
    );
    assert_eq!(
        resource(&template, "next")["dependsOn"],
        json!(["[extensionResourceId(resourceId('Microsoft.Compute/virtualMachines', 'vm'), 'My.Rp/extensionResource', 'ext')]"])
    );
}

/// The catalogue spells a type per api-version: the generated types of
/// Microsoft.Network@2015-05-04-preview write `dnszones`, of 2015-06-15 `virtualnetworks/subnets`.
#[test]
fn the_spelling_follows_the_api_version() {
    let template = compile(
        "resource old 'Microsoft.Network/dnsZones@2015-05-04-preview' = {\n  name: 'old'\n  location: 'global'\n\n  resource a 'A' = {\n    name: 'www'\n  }\n}\n\
         resource vnet 'Microsoft.Network/virtualNetworks@2015-06-15' existing = {\n  name: 'v'\n}\n\
         resource subnet 'Microsoft.Network/virtualNetworks/subnets@2015-06-15' = {\n  parent: vnet\n  name: 's'\n}\n\
         resource current 'Microsoft.Network/dnszones@2018-05-01' = {\n  name: 'new'\n  location: 'global'\n}\n",
    );
    assert_eq!(
        resource(&template, "old")["type"],
        "Microsoft.Network/dnszones"
    );
    assert_eq!(
        resource(&template, "[format('{0}/{1}', 'old', 'www')]")["type"],
        "Microsoft.Network/dnszones/A"
    );
    assert_eq!(
        resource(&template, "[format('{0}/{1}', 'v', 's')]")["type"],
        "Microsoft.Network/virtualnetworks/subnets"
    );
    assert_eq!(
        resource(&template, "new")["type"],
        "Microsoft.Network/dnsZones"
    );
}
