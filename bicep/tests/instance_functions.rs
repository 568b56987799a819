//! Functions called on values: only namespaces and resources have them. A resource reached
//! through `parent::child` or parentheses keeps its functions (`listKeys(resourceId(...),
//! '<apiVersion>')`, as for `res.listKeys()`); any other value is BCP067 / BCP109.

mod support;

use support::{compile, diagnostics};

const SITE: &str = "resource site 'Microsoft.Web/sites@2022-03-01' existing = {\n  name: 'site'\n\n  resource creds 'config' existing = {\n    name: 'publishingcredentials'\n  }\n}\n\nresource sa 'Microsoft.Storage/storageAccounts@2023-01-01' existing = {\n  name: 'sa'\n}\n\n";

#[test]
fn functions_of_a_nested_resource_and_a_parenthesized_resource() {
    let template = compile(&format!(
        "{SITE}output creds object = site::creds.list()\noutput keys object = (sa).listKeys()\noutput direct object = sa.listKeys()\noutput withVersion object = site::creds.list('2021-01-01')\n"
    ));
    let outputs = &template["outputs"];
    assert_eq!(
        outputs["creds"]["value"],
        "[list(resourceId('Microsoft.Web/sites/config', 'site', 'publishingcredentials'), '2022-03-01')]"
    );
    assert_eq!(
        outputs["keys"]["value"],
        "[listKeys(resourceId('Microsoft.Storage/storageAccounts', 'sa'), '2023-01-01')]"
    );
    assert_eq!(outputs["keys"]["value"], outputs["direct"]["value"]);
    assert_eq!(
        outputs["withVersion"]["value"],
        "[list(resourceId('Microsoft.Web/sites/config', 'site', 'publishingcredentials'), '2021-01-01')]"
    );
}

#[test]
fn functions_on_other_values_are_refused_with_the_official_codes() {
    // As InvalidVariables' `var mySum = az.add(1,2)` with `az` shadowed by an int.
    let found = diagnostics("var one = 1\nvar x = one.add(1, 2)\n");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        (found[0].0, found[0].1, found[0].2.as_str()),
        (2, 13, "BCP067")
    );
    assert_eq!(
        found[0].3,
        "Cannot call functions on type \"1\". An \"object\" type is required."
    );
    let found = diagnostics("var x = 'abc'.toUpper()\n");
    assert_eq!(found[0].2, "BCP067");
    assert!(found[0].3.contains("type \"'abc'\""), "{found:?}");
    let found = diagnostics("var o = {\n  a: 1\n}\nvar x = o.keys()\n");
    assert_eq!(
        (found[0].0, found[0].1, found[0].2.as_str()),
        (4, 11, "BCP109")
    );
    assert_eq!(
        found[0].3,
        "The type \"object\" does not contain function \"keys\"."
    );
}
