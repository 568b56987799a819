//! User-defined types and the languageVersion 2.0 switch: `definitions` with `$ref`,
//! resources keyed by symbolic name, `existing` resources declared, reference('symbol').

mod support;

use serde_json::json;
use support::{compile, Workspace};

const TEMPLATE: &str = "@description('The foo type')\n@sealed()\ntype foo = {\n  @minLength(3)\n  @description('A string property')\n  name: string\n  sizes: int[]?\n  kind: kind\n}\ntype kind = 'a' | 'b'\ntype dictionary = {\n  *: string\n}\nparam config foo\nresource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {\n  name: 'kv'\n}\nresource account 'Microsoft.Storage/storageAccounts@2023-01-01' = {\n  name: config.name\n  location: vault.location\n  properties: {\n    uri: vault.properties.vaultUri\n  }\n}\noutput blob string = account.properties.primaryEndpoints.blob\noutput conf foo = config\n";

#[test]
fn definitions_refs_and_symbolic_resources() {
    let template = compile(TEMPLATE);
    assert_eq!(template["languageVersion"], "2.0");
    assert_eq!(
        template["definitions"],
        json!({
            "foo": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "minLength": 3, "metadata": {"description": "A string property"}},
                    "sizes": {"type": "array", "items": {"type": "int"}, "nullable": true},
                    "kind": {"$ref": "#/definitions/kind"}
                },
                "additionalProperties": false,
                "metadata": {"description": "The foo type"}
            },
            "kind": {"type": "string", "allowedValues": ["a", "b"]},
            "dictionary": {"type": "object", "properties": {}, "additionalProperties": {"type": "string"}}
        })
    );
    assert_eq!(
        template["parameters"],
        json!({"config": {"$ref": "#/definitions/foo"}})
    );
    assert_eq!(
        template["resources"],
        json!({
            "vault": {
                "existing": true,
                "type": "Microsoft.KeyVault/vaults",
                "apiVersion": "2023-07-01",
                "name": "kv"
            },
            "account": {
                "type": "Microsoft.Storage/storageAccounts",
                "apiVersion": "2023-01-01",
                "name": "[parameters('config').name]",
                "location": "[reference('vault', '2023-07-01', 'full').location]",
                "properties": {"uri": "[reference('vault').vaultUri]"},
                "dependsOn": ["vault"]
            }
        })
    );
    assert_eq!(
        template["outputs"],
        json!({
            "blob": {"type": "string", "value": "[reference('account').primaryEndpoints.blob]"},
            "conf": {"$ref": "#/definitions/foo", "value": "[parameters('config')]"}
        })
    );
}

#[test]
fn language_version_comes_between_schema_and_content_version() {
    let workspace = Workspace::new();
    let path = workspace.file("main.bicep", "type t = string\nparam p t\n");
    let text = bicep::compile_file(&path).template.expect("template");
    assert!(text.starts_with("{\n  \"$schema\": \"https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#\",\n  \"languageVersion\": \"2.0\",\n  \"contentVersion\": \"1.0.0.0\",\n"), "{text}");
    assert!(text.contains("  \"definitions\": {\n    \"t\": {\n      \"type\": \"string\"\n    }\n  },\n  \"parameters\": {\n    \"p\": {\n      \"$ref\": \"#/definitions/t\"\n    }\n  },\n  \"resources\": {}\n"), "{text}");
}

#[test]
fn keyword_types_alone_stay_on_language_version_one() {
    let template = compile("param p string\nresource a 'Microsoft.Storage/storageAccounts@2023-01-01' existing = {\n  name: p\n}\noutput o string = a.properties.x\n");
    assert!(template.get("languageVersion").is_none());
    assert_eq!(template["resources"], json!([]));
}

#[test]
fn modules_without_a_name_and_secure_outputs_switch_too() {
    let workspace = Workspace::new();
    workspace.file("child.bicep", "output x string = 'y'\n");
    let path = workspace.file(
        "main.bicep",
        "module child 'child.bicep' = {}\n@secure()\noutput s string = child.outputs.x\n",
    );
    let template = support::compile_path(&path);
    assert_eq!(template["languageVersion"], "2.0");
    assert!(template["resources"]["child"].is_object());
    assert_eq!(
        template["outputs"]["s"],
        json!({"type": "securestring", "value": "[reference('child').outputs.x.value]"})
    );
}

#[test]
fn an_unknown_type_name_is_refused() {
    let found = support::diagnostics("param p nothing\n");
    assert!(found.iter().any(|d| d.2 == "BCP031"), "{found:?}");
}

#[test]
fn tuples_are_prefix_items_with_no_further_items() {
    let template = compile("type pair = [string, int[]]\nparam p [\n  pair\n  bool\n]\n");
    assert_eq!(template["languageVersion"], "2.0");
    assert_eq!(
        template["definitions"]["pair"],
        json!({"type": "array", "prefixItems": [{"type": "string"}, {"type": "array", "items": {"type": "int"}}], "items": false})
    );
    assert_eq!(
        template["parameters"]["p"],
        json!({"type": "array", "prefixItems": [{"$ref": "#/definitions/pair"}, {"type": "bool"}], "items": false})
    );
}

#[test]
fn a_parenthesized_type_is_the_type_inside() {
    let template = compile("type pair = (string)\nparam p (int)[]\nparam q ({\n  a: string\n})?\n");
    assert_eq!(template["definitions"]["pair"], json!({"type": "string"}));
    assert_eq!(
        template["parameters"]["p"],
        json!({"type": "array", "items": {"type": "int"}})
    );
    assert_eq!(
        template["parameters"]["q"],
        json!({"type": "object", "properties": {"a": {"type": "string"}}, "nullable": true})
    );
}
