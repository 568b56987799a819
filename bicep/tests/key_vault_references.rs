//! `vault.getSecret()` passed to a module's secure parameter becomes the Key Vault reference
//! ARM resolves at deployment, as the official compiler writes it (Modules baseline, as our
//! own cases); `existing` vaults in other groups are addressed by their full id.

mod support;

use serde_json::json;
use support::{compile_path, Workspace};

const CHILD: &str = "@secure()\nparam secret string\n@secure()\nparam other string = ''\n";

fn module_parameters(template: &serde_json::Value, name: &str) -> serde_json::Value {
    let resources = &template["resources"];
    let module = match resources {
        serde_json::Value::Array(items) => items
            .iter()
            .find(|r| r["name"] == name)
            .cloned()
            .unwrap_or_default(),
        other => other[name].clone(),
    };
    module["properties"]["parameters"].clone()
}

#[test]
fn get_secret_becomes_a_key_vault_reference() {
    let workspace = Workspace::new();
    workspace.file("child.bicep", CHILD);
    let main = workspace.file(
        "main.bicep",
        "resource kv 'Microsoft.KeyVault/vaults@2023-07-01' existing = {\n  name: 'vault1'\n}\n\
         module m 'child.bicep' = {\n  name: 'm'\n  params: {\n    secret: kv.getSecret('pass')\n    other: kv.getSecret('pass', 'v2')\n  }\n}\n",
    );
    let template = compile_path(&main);
    assert_eq!(
        module_parameters(&template, "m"),
        json!({
            "secret": {"reference": {"keyVault": {"id": "[resourceId('Microsoft.KeyVault/vaults', 'vault1')]"}, "secretName": "pass"}},
            "other": {"reference": {"keyVault": {"id": "[resourceId('Microsoft.KeyVault/vaults', 'vault1')]"},
                                    "secretName": "pass", "secretVersion": "v2"}}
        })
    );
    // Reading a secret does not wait for the (existing) vault.
    let resources = template["resources"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        resources.iter().all(|r| r.get("dependsOn").is_none()),
        "{resources:?}"
    );
}

#[test]
fn looped_scoped_and_conditional_references() {
    let workspace = Workspace::new();
    workspace.file("child.bicep", CHILD);
    let main = workspace.file(
        "main.bicep",
        "var vaults = [\n  { name: 'a', rg: 'rg-a', sub: 's-a' }\n]\n\
         resource other 'Microsoft.KeyVault/vaults@2023-07-01' existing = {\n  name: 'v'\n  scope: resourceGroup('otherGroup')\n}\n\
         resource looped 'Microsoft.KeyVault/vaults@2023-07-01' existing = [for v in vaults: {\n  name: v.name\n  scope: resourceGroup(v.sub, v.rg)\n}]\n\
         module each 'child.bicep' = [for (v, i) in vaults: {\n  name: 'each-${i}'\n  params: {\n    secret: looped[i].getSecret('s')\n  }\n}]\n\
         module scoped 'child.bicep' = {\n  name: 'scoped'\n  params: {\n    secret: other.getSecret('s')\n    other: true ? other.getSecret('s') : 'plain'\n  }\n}\n\
         type t = string\n",
    );
    let template = compile_path(&main);
    assert_eq!(template["languageVersion"], "2.0");
    assert_eq!(
        module_parameters(&template, "each")["secret"],
        json!({"reference": {"keyVault": {"id": "[extensionResourceId(format('/subscriptions/{0}/resourceGroups/{1}', variables('vaults')[copyIndex()].sub, variables('vaults')[copyIndex()].rg), 'Microsoft.KeyVault/vaults', variables('vaults')[copyIndex()].name)]"}, "secretName": "s"}})
    );
    let scoped = module_parameters(&template, "scoped");
    assert_eq!(
        scoped["secret"]["reference"]["keyVault"]["id"],
        "[extensionResourceId(format('/subscriptions/{0}/resourceGroups/{1}', subscription().subscriptionId, 'otherGroup'), 'Microsoft.KeyVault/vaults', 'v')]"
    );
    assert_eq!(
        scoped["other"],
        json!("[if(true(), createObject('reference', createObject('keyVault', createObject('id', extensionResourceId(format('/subscriptions/{0}/resourceGroups/{1}', subscription().subscriptionId, 'otherGroup'), 'Microsoft.KeyVault/vaults', 'v')), 'secretName', 's')), createObject('value', 'plain'))]")
    );
    // The existing resources say where they are (languageVersion 2.0).
    assert_eq!(
        template["resources"]["looped"],
        json!({
            "copy": {"name": "looped", "count": "[length(variables('vaults'))]"},
            "existing": true,
            "type": "Microsoft.KeyVault/vaults",
            "apiVersion": "2023-07-01",
            "subscriptionId": "[variables('vaults')[copyIndex()].sub]",
            "resourceGroup": "[variables('vaults')[copyIndex()].rg]",
            "name": "[variables('vaults')[copyIndex()].name]"
        })
    );
    assert_eq!(
        template["resources"]["other"]["resourceGroup"],
        "otherGroup"
    );
}

#[test]
fn module_parameter_loops_and_safe_output_chains() {
    let workspace = Workspace::new();
    workspace.file(
        "child.bicep",
        "param items array = []\noutput maybe object? = null\n",
    );
    let main = workspace.file(
        "main.bicep",
        "module m 'child.bicep' = {\n  name: 'm'\n  params: {\n    items: [for i in range(0, 2): 'x${i}']\n  }\n}\n\
         output deep string? = m.outputs.?maybe.a.b[0]\n\
         output last string? = m.outputs.?maybe.list[^1]\n\
         output tryLast string? = m.outputs.?maybe.list[?^1]\n\
         var named = nameof(m.outputs.maybe)\n",
    );
    let template = compile_path(&main);
    assert_eq!(
        module_parameters(&template, "m")["items"],
        json!({"copy": [{"name": "value", "count": "[length(range(0, 2))]", "input": "[format('x{0}', range(0, 2)[copyIndex('value')])]"}]})
    );
    let outputs = &template["outputs"];
    assert_eq!(
        outputs["deep"]["value"],
        "[tryGet(tryGet(reference('m').outputs, 'maybe'), 'value', 'a', 'b', 0)]"
    );
    assert_eq!(
        outputs["last"]["value"],
        "[tryGet(tryGet(reference('m').outputs, 'maybe'), 'value', 'list', createObject('value', 1, 'fromEnd', true()))]"
    );
    assert_eq!(
        outputs["tryLast"]["value"],
        "[tryIndexFromEnd(tryGet(tryGet(reference('m').outputs, 'maybe'), 'value', 'list'), 1)]"
    );
    // nameof() is known at compile time, so the variable stays a variable.
    assert_eq!(template["variables"]["named"], "maybe");
}

#[test]
fn get_secret_misuse_is_reported() {
    let workspace = Workspace::new();
    workspace.file("child.bicep", CHILD);
    for (text, code, position) in [
        (
            "resource kv 'Microsoft.KeyVault/vaults@2023-07-01' existing = {\n  name: 'v'\n}\noutput o string = kv.getSecret('s')\n",
            "BCP180",
            (4, 19),
        ),
        (
            "resource st 'Microsoft.Storage/storageAccounts@2023-01-01' existing = {\n  name: 'v'\n}\nmodule m 'child.bicep' = {\n  name: 'm'\n  params: {\n    secret: st.getSecret('s')\n  }\n}\n",
            "BCP109",
            (7, 13),
        ),
    ] {
        let main = workspace.file("main.bicep", text);
        let compilation = bicep::compile_file(&main);
        assert!(compilation.template.is_none(), "{text}");
        assert!(
            compilation
                .diagnostics
                .iter()
                .any(|d| d.code == code && (d.line, d.column) == position),
            "{text}: {:?}",
            compilation.diagnostics
        );
    }
}
