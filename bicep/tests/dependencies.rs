//! The `dependsOn` the official compiler infers from symbolic references, in the cases its
//! Loops baselines pin: property-loop indexes, whole collections and repeated references.

mod support;

use serde_json::json;
use support::compile;

const ZONES: &str =
    "resource zones 'My.Rp/zones@2020-01-01' = [for i in range(0, 2): {\n  name: 'z${i}'\n}]\n";

#[test]
fn an_index_from_a_property_loop_depends_on_the_whole_collection() {
    let template = compile(&format!(
        "{ZONES}resource user 'My.Rp/users@2020-01-01' = {{\n  name: 'u'\n  properties: {{\n    items: [for j in range(0, 2): {{\n      id: zones[j].id\n    }}]\n  }}\n}}\n"
    ));
    assert_eq!(template["resources"][1]["dependsOn"], json!(["zones"]));
}

#[test]
fn a_dependency_on_the_collection_absorbs_one_on_a_member() {
    let template = compile(&format!(
        "{ZONES}resource user 'My.Rp/users@2020-01-01' = {{\n  name: 'u'\n  dependsOn: [\n    zones\n    zones[0]\n  ]\n}}\n"
    ));
    assert_eq!(template["resources"][1]["dependsOn"], json!(["zones"]));
}

#[test]
fn the_same_member_referenced_twice_is_listed_twice() {
    // The official compiler keeps one entry per reference written (Loops_LF baseline).
    let template = compile(&format!(
        "{ZONES}resource users 'My.Rp/users@2020-01-01' = [for k in range(0, 2): {{\n  name: 'u${{k}}'\n  properties: {{\n    a: zones[k].id\n    b: zones[k].id\n  }}\n}}]\n"
    ));
    let id = "[resourceId('My.Rp/zones', format('z{0}', range(0, 2)[range(0, 2)[copyIndex()]]))]";
    assert_eq!(template["resources"][1]["dependsOn"], json!([id, id]));
}

#[test]
fn an_extension_resource_is_scoped_by_the_fully_qualified_id_of_its_target() {
    // Since Bicep 0.40 (before: format('My.Rp/zones/{0}', ...)).
    let template = compile(
        "resource zone 'My.Rp/zones@2020-01-01' = {\n  name: 'z'\n}\nresource lock 'Microsoft.Authorization/locks@2016-09-01' = {\n  name: 'l'\n  scope: zone\n  properties: {\n    level: 'CanNotDelete'\n  }\n}\n",
    );
    assert_eq!(
        template["resources"][1]["scope"],
        json!("[resourceId('My.Rp/zones', 'z')]")
    );
}
