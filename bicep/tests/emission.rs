//! Feature by feature: a few lines of Bicep and the ARM JSON the official compiler emits for them.

mod support;

use serde_json::json;
use support::{compile, compile_path, Workspace};

fn resources(template: &serde_json::Value) -> &Vec<serde_json::Value> {
    template["resources"].as_array().expect("resources array")
}

#[test]
fn header_and_exact_text_of_an_empty_template() {
    let workspace = Workspace::new();
    let path = workspace.file("main.bicep", "");
    let text = bicep::compile_file(&path).template.expect("template");
    let hash = serde_json::from_str::<serde_json::Value>(&text).unwrap()["metadata"]["_generator"]
        ["templateHash"]
        .as_str()
        .unwrap()
        .to_string();
    let expected = format!(
        "{{\n  \"$schema\": \"https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#\",\n  \"contentVersion\": \"1.0.0.0\",\n  \"metadata\": {{\n    \"_generator\": {{\n      \"name\": \"bicep\",\n      \"version\": \"{}\",\n      \"templateHash\": \"{hash}\"\n    }}\n  }},\n  \"resources\": []\n}}",
        bicep::VERSION
    );
    assert_eq!(text, expected);
}

#[test]
fn template_hash_is_stable_and_depends_on_content() {
    let workspace = Workspace::new();
    let a = workspace.file("a.bicep", "param x string\n");
    let b = workspace.file("b.bicep", "param y string\n");
    let hash = |p| compile_path(p)["metadata"]["_generator"]["templateHash"].clone();
    assert_eq!(hash(&a), hash(&a));
    assert_ne!(hash(&a), hash(&b));
}

#[test]
fn parameters_with_decorators_keep_the_official_key_order() {
    let workspace = Workspace::new();
    let path = workspace.file(
        "main.bicep",
        "@secure()\n@minLength(3)\n@maxLength(24)\n@allowed([\n  'one'\n  'two'\n])\n@description('The name')\nparam name string\n",
    );
    let text = bicep::compile_file(&path).template.unwrap();
    let expected = "  \"parameters\": {\n    \"name\": {\n      \"type\": \"securestring\",\n      \"allowedValues\": [\n        \"one\",\n        \"two\"\n      ],\n      \"metadata\": {\n        \"description\": \"The name\"\n      },\n      \"minLength\": 3,\n      \"maxLength\": 24\n    }\n  },";
    assert!(text.contains(expected), "{text}");
}

#[test]
fn parameter_types_defaults_and_secure_object() {
    let template = compile(
        "param count int = 3\nparam enabled bool = true\n@secure()\nparam secrets object\nparam names string[] = [\n  'a'\n]\nparam sku 'B1' | 'B2' = 'B1'\nparam location string = resourceGroup().location\n",
    );
    // `string[]` and a union are type syntax: the official compiler writes languageVersion 2.0.
    assert_eq!(template["languageVersion"], "2.0");
    assert_eq!(
        template["parameters"],
        json!({
            "count": {"type": "int", "defaultValue": 3},
            "enabled": {"type": "bool", "defaultValue": true},
            "secrets": {"type": "secureObject"},
            "names": {"type": "array", "items": {"type": "string"}, "defaultValue": ["a"]},
            "sku": {"type": "string", "allowedValues": ["B1", "B2"], "defaultValue": "B1"},
            "location": {"type": "string", "defaultValue": "[resourceGroup().location]"}
        })
    );
}

#[test]
fn variables_interpolation_and_operators() {
    let template = compile(concat!(
        "param a string\n",
        "var plain = 'x'\n",
        "var interpolated = '${a}-x{y}'\n",
        "var bracket = '[not an expression]'\n",
        "var arithmetic = (1 + 2) * 3 % 4 - 5 / 6\n",
        "var comparisons = 1 < 2 && 2 <= 3 || 4 > 5 && !(5 >= 6) && a == 'q' && a != 'r'\n",
        "var ternary = a == 'x' ? 'yes' : 'no'\n",
        "var coalesced = a ?? 'fallback'\n",
        "var safe = {}.?missing\n",
        "var lastItem = [1, 2][^1]\n",
        "var merged = {\n  ...{ a: 1 }\n  b: 2\n}\n",
        "var joined = [\n  ...[1]\n  2\n]\n",
        "var multi = '''\nline1\nline2'''\n",
        "var functions = toLower(uniqueString(resourceGroup().id, az.subscription().subscriptionId))\n",
    ));
    assert_eq!(
        template["variables"],
        json!({
            "plain": "x",
            "interpolated": "[format('{0}-x{{y}}', parameters('a'))]",
            "bracket": "[[not an expression]",
            "arithmetic": "[sub(mod(mul(add(1, 2), 3), 4), div(5, 6))]",
            "comparisons": "[or(and(less(1, 2), lessOrEquals(2, 3)), and(and(and(greater(4, 5), not(greaterOrEquals(5, 6))), equals(parameters('a'), 'q')), not(equals(parameters('a'), 'r'))))]",
            "ternary": "[if(equals(parameters('a'), 'x'), 'yes', 'no')]",
            "coalesced": "[coalesce(parameters('a'), 'fallback')]",
            "safe": "[tryGet(createObject(), 'missing')]",
            "lastItem": "[last(createArray(1, 2))]",
            "merged": "[shallowMerge(createArray(createObject('a', 1), createObject('b', 2)))]",
            "joined": "[flatten(createArray(createArray(1), createArray(2)))]",
            "multi": "line1\nline2",
            "functions": "[toLower(uniqueString(resourceGroup().id, subscription().subscriptionId))]"
        })
    );
}

#[test]
fn resources_with_implicit_dependencies_and_references() {
    let template = compile(concat!(
        "param name string\n",
        "resource cluster 'Microsoft.HardwareSecurityModules/cloudHsmClusters@2025-03-31' = {\n",
        "  name: name\n  location: 'westus'\n  sku: {\n    name: 'Standard_B1'\n  }\n}\n",
        "resource other 'My.Rp/things@2020-01-01' = {\n",
        "  name: '${cluster.name}-other'\n  properties: {\n    state: cluster.properties.provisioningState\n    where: cluster.location\n  }\n}\n",
        "output id string = cluster.id\n",
        "output state string = cluster.properties.provisioningState\n",
        "output type string = cluster.type\n",
    ));
    let id =
        "[resourceId('Microsoft.HardwareSecurityModules/cloudHsmClusters', parameters('name'))]";
    assert_eq!(
        resources(&template)[1],
        json!({
            "type": "My.Rp/things",
            "apiVersion": "2020-01-01",
            "name": "[format('{0}-other', parameters('name'))]",
            "properties": {
                "state": "[reference(resourceId('Microsoft.HardwareSecurityModules/cloudHsmClusters', parameters('name')), '2025-03-31').provisioningState]",
                "where": "[reference(resourceId('Microsoft.HardwareSecurityModules/cloudHsmClusters', parameters('name')), '2025-03-31', 'full').location]"
            },
            "dependsOn": [id]
        })
    );
    assert_eq!(
        template["outputs"]["id"],
        json!({"type": "string", "value": id})
    );
    assert_eq!(
        template["outputs"]["type"]["value"],
        json!("Microsoft.HardwareSecurityModules/cloudHsmClusters")
    );
}

#[test]
fn extension_resource_scoped_to_a_cluster() {
    let template = compile(concat!(
        "param name string\n",
        "resource cluster 'Microsoft.HardwareSecurityModules/cloudHsmClusters@2025-03-31' existing = {\n  name: name\n}\n",
        "resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {\n",
        "  name: guid(cluster.id, 'reader')\n  scope: cluster\n  properties: {\n    principalId: 'p'\n  }\n}\n",
        "output assignmentId string = assignment.id\n",
    ));
    // The existing cluster is not emitted and not depended on.
    assert_eq!(
        template["resources"],
        json!([{
            "type": "Microsoft.Authorization/roleAssignments",
            "apiVersion": "2022-04-01",
            "scope": "[resourceId('Microsoft.HardwareSecurityModules/cloudHsmClusters', parameters('name'))]",
            "name": "[guid(resourceId('Microsoft.HardwareSecurityModules/cloudHsmClusters', parameters('name')), 'reader')]",
            "properties": {"principalId": "p"}
        }])
    );
    assert_eq!(
        template["outputs"]["assignmentId"]["value"],
        json!("[extensionResourceId(resourceId('Microsoft.HardwareSecurityModules/cloudHsmClusters', parameters('name')), 'Microsoft.Authorization/roleAssignments', guid(resourceId('Microsoft.HardwareSecurityModules/cloudHsmClusters', parameters('name')), 'reader'))]")
    );
}

#[test]
fn nested_and_parent_child_resources() {
    let template = compile(concat!(
        "resource parentRes 'My.Rp/parents@2020-01-01' = {\n  name: 'p'\n",
        "  resource nested 'children@2020-01-01' = {\n    name: 'c'\n  }\n}\n",
        "resource explicit 'My.Rp/parents/children@2020-01-01' = {\n  parent: parentRes\n  name: 'd'\n}\n",
        "output nestedId string = parentRes::nested.id\n",
    ));
    let child = json!({
        "type": "My.Rp/parents/children",
        "apiVersion": "2020-01-01",
        "name": "[format('{0}/{1}', 'p', 'c')]",
        "dependsOn": ["[resourceId('My.Rp/parents', 'p')]"]
    });
    // Nested resources are written before the top-level ones, as the official compiler does.
    assert_eq!(resources(&template)[0], child);
    assert_eq!(resources(&template)[1]["name"], json!("p"));
    assert_eq!(
        resources(&template)[2]["name"],
        json!("[format('{0}/{1}', 'p', 'd')]")
    );
    assert_eq!(
        template["outputs"]["nestedId"]["value"],
        json!("[resourceId('My.Rp/parents/children', 'p', 'c')]")
    );
}

#[test]
fn resource_loops_conditions_and_indexed_references() {
    let template = compile(concat!(
        "param names array\n",
        "@batchSize(2)\n",
        "resource many 'My.Rp/things@2020-01-01' = [for (n, i) in names: if (i > 0) {\n  name: '${n}-${i}'\n}]\n",
        "resource ranged 'My.Rp/things@2020-01-01' = [for x in range(0, 3): {\n  name: 'r${x}'\n}]\n",
        "resource single 'My.Rp/things@2020-01-01' = if (length(names) > 1) {\n  name: 'single'\n  properties: {\n    first: many[0].id\n  }\n  dependsOn: [\n    ranged\n  ]\n}\n",
    ));
    assert_eq!(
        resources(&template)[0],
        json!({
            "copy": {"name": "many", "count": "[length(parameters('names'))]", "mode": "serial", "batchSize": 2},
            "condition": "[greater(copyIndex(), 0)]",
            "type": "My.Rp/things",
            "apiVersion": "2020-01-01",
            "name": "[format('{0}-{1}', parameters('names')[copyIndex()], copyIndex())]"
        })
    );
    assert_eq!(
        resources(&template)[1]["copy"]["count"],
        json!("[length(range(0, 3))]")
    );
    assert_eq!(
        resources(&template)[2],
        json!({
            "condition": "[greater(length(parameters('names')), 1)]",
            "type": "My.Rp/things",
            "apiVersion": "2020-01-01",
            "name": "single",
            "properties": {
                "first": "[resourceId('My.Rp/things', format('{0}-{1}', parameters('names')[0], 0))]"
            },
            "dependsOn": [
                "[resourceId('My.Rp/things', format('{0}-{1}', parameters('names')[0], 0))]",
                "ranged"
            ]
        })
    );
}

#[test]
fn variable_property_and_output_loops() {
    let template = compile(concat!(
        "var items = [for i in range(0, 2): 'item${i}']\n",
        "resource r 'My.Rp/things@2020-01-01' = {\n  name: 'r'\n  properties: {\n    rules: [for rule in items: {\n      name: rule\n    }]\n  }\n}\n",
        "output names array = [for item in items: toUpper(item)]\n",
    ));
    assert_eq!(
        template["variables"],
        json!({"copy": [{"name": "items", "count": "[length(range(0, 2))]", "input": "[format('item{0}', range(0, 2)[copyIndex('items')])]"}]})
    );
    assert_eq!(
        resources(&template)[0]["properties"],
        json!({"copy": [{"name": "rules", "count": "[length(variables('items'))]", "input": {"name": "[variables('items')[copyIndex('rules')]]"}}]})
    );
    assert_eq!(
        template["outputs"]["names"],
        json!({"type": "array", "copy": {"count": "[length(variables('items'))]", "input": "[toUpper(variables('items')[copyIndex()])]"}})
    );
}

#[test]
fn local_module_becomes_a_nested_deployment() {
    let workspace = Workspace::new();
    workspace.file(
        "modules/child.bicep",
        "param p string\noutput o string = toUpper(p)\n",
    );
    let main = workspace.file(
        "main.bicep",
        "@description('the child')\nmodule child 'modules/child.bicep' = {\n  name: 'childDeployment'\n  params: {\n    p: 'v'\n  }\n}\noutput fromChild string = child.outputs.o\n",
    );
    let template = compile_path(&main);
    let deployment = &resources(&template)[0];
    assert_eq!(deployment["type"], json!("Microsoft.Resources/deployments"));
    assert_eq!(deployment["apiVersion"], json!("2025-04-01"));
    assert_eq!(deployment["name"], json!("childDeployment"));
    assert_eq!(
        deployment["properties"]["expressionEvaluationOptions"],
        json!({"scope": "inner"})
    );
    assert_eq!(deployment["properties"]["mode"], json!("Incremental"));
    assert_eq!(
        deployment["properties"]["parameters"],
        json!({"p": {"value": "v"}})
    );
    assert_eq!(
        deployment["properties"]["template"]["outputs"]["o"],
        json!({"type": "string", "value": "[toUpper(parameters('p'))]"})
    );
    assert_eq!(deployment["metadata"], json!({"description": "the child"}));
    assert_eq!(
        template["outputs"]["fromChild"]["value"],
        json!("[reference(resourceId('Microsoft.Resources/deployments', 'childDeployment'), '2025-04-01').outputs.o.value]")
    );
}

#[test]
fn subscription_scope_group_and_module() {
    let workspace = Workspace::new();
    workspace.file("cluster.bicep", "param name string\nresource c 'Microsoft.HardwareSecurityModules/cloudHsmClusters@2025-03-31' = {\n  name: name\n  location: 'westus'\n}\n");
    let main = workspace.file(
        "main.bicep",
        "targetScope = 'subscription'\nparam groupName string\nresource group 'Microsoft.Resources/resourceGroups@2022-09-01' = {\n  name: groupName\n  location: 'westus'\n}\nmodule cluster 'cluster.bicep' = {\n  name: 'cluster'\n  scope: group\n  params: {\n    name: 'c1'\n  }\n}\n",
    );
    let template = compile_path(&main);
    assert_eq!(
        template["$schema"],
        json!("https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#")
    );
    let module = &resources(&template)[1];
    assert_eq!(module["resourceGroup"], json!("[parameters('groupName')]"));
    assert_eq!(
        module["dependsOn"],
        json!(["[subscriptionResourceId('Microsoft.Resources/resourceGroups', parameters('groupName'))]"])
    );
}

#[test]
fn load_functions_inline_files() {
    let workspace = Workspace::new();
    workspace.file("data.json", "{\"zeta\": 1, \"alpha\": [true, \"[x]\"]}");
    workspace.file("script.sh", "echo hi\n");
    let main = workspace.file(
        "main.bicep",
        "var config = loadJsonContent('data.json')\nvar script = loadTextContent('script.sh')\nvar encoded = loadFileAsBase64('script.sh')\n",
    );
    let template = compile_path(&main);
    let text = bicep::compile_file(&main).template.unwrap();
    // Key order of the loaded file is kept.
    assert!(text.find("\"zeta\"").unwrap() < text.find("\"alpha\"").unwrap());
    assert_eq!(
        template["variables"],
        // loadJsonContent's value always goes to a `$fxv#N` variable, as the official compiler writes it.
        json!({
            "$fxv#0": {"zeta": 1, "alpha": [true, "[[x]"]},
            "config": "[variables('$fxv#0')]",
            "script": "echo hi\n",
            "encoded": "ZWNobyBoaQo="
        })
    );
}

#[test]
fn bicepparam_file_produces_deployment_parameters() {
    let workspace = Workspace::new();
    workspace.file("main.bicep", "param name string\nparam count int = 1\n");
    let params = workspace.file(
        "main.bicepparam",
        "using './main.bicep'\n\nparam name = 'hsm1'\nparam count = 2\n",
    );
    let compilation = bicep::compile_params_file(&params);
    // (main.bicep's unused parameters are linter warnings, as the official CLI reports them.)
    assert!(
        !compilation
            .diagnostics
            .iter()
            .any(support::is_compiler_diagnostic),
        "{:?}",
        compilation.diagnostics
    );
    let parameters: serde_json::Value =
        serde_json::from_str(&compilation.parameters.unwrap()).unwrap();
    assert_eq!(
        parameters,
        json!({
            "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
            "contentVersion": "1.0.0.0",
            "parameters": {"name": {"value": "hsm1"}, "count": {"value": 2}}
        })
    );
    assert!(compilation.template.unwrap().contains("\"name\""));
}

#[test]
fn details_the_official_compiler_writes_its_own_way() {
    let template = compile(concat!(
        "var insensitive = 'a' =~ 'B'\n",
        "var notInsensitive = 'a' !~ 'B'\n",
        "var numbers = [for i in range(0, 2): 3]\n",
        "var flags = [for i in range(0, 2): false]\n",
        "var pairs = [for i in range(0, 2): [\n  i\n]]\n",
        "var big = 2199023255552 * 2\n",
        "var bigLiteral = 2199023255552\n",
        "var indexed = {\n  foo: 's'\n}['foo']\n",
        "var typed = any({\n  a: 1\n})\n",
        "var copyKey = {\n  copy: []\n}\n",
        "var otherScope = {\n  rg: resourceGroup('sub', 'rg')\n}\n",
        "var commentBeforeFor = [\n  // a comment\n  for i in range(0, 1): i\n]\n",
    ));
    let variables = &template["variables"];
    assert_eq!(
        variables["insensitive"],
        json!("[equals(toLower('a'), toLower('B'))]")
    );
    assert_eq!(
        variables["notInsensitive"],
        json!("[not(equals(toLower('a'), toLower('B')))]")
    );
    assert_eq!(variables["copy"][0]["input"], json!("[int(3)]"));
    assert_eq!(variables["copy"][1]["input"], json!("[false()]"));
    assert_eq!(
        variables["copy"][2]["input"],
        json!("[createArray(range(0, 2)[copyIndex('pairs')])]")
    );
    assert_eq!(variables["copy"][3]["name"], json!("commentBeforeFor"));
    assert_eq!(variables["big"], json!("[mul(json('2199023255552'), 2)]"));
    assert_eq!(variables["bigLiteral"], json!(2199023255552i64));
    assert_eq!(
        variables["indexed"],
        json!("[createObject('foo', 's').foo]")
    );
    assert_eq!(variables["typed"], json!({"a": 1}));
    assert_eq!(variables["copyKey"], json!({"[string('copy')]": []}));
    assert_eq!(variables["otherScope"], json!({"rg": {}}));
}

#[test]
fn list_functions_on_a_resource_symbol() {
    let template = compile(concat!(
        "resource account 'Microsoft.Storage/storageAccounts@2022-09-01' existing = {\n  name: 'acct'\n}\n",
        "output key string = account.listKeys().keys[0].value\n",
    ));
    assert_eq!(
        template["outputs"]["key"]["value"],
        json!("[listKeys(resourceId('Microsoft.Storage/storageAccounts', 'acct'), '2022-09-01').keys[0].value]")
    );
}

#[test]
fn a_condition_may_start_on_the_line_after_the_equals_sign() {
    let template =
        compile("resource r 'My.Rp/things@2020-01-01' =\n  if (true) {\n  name: 'r'\n}\n");
    assert_eq!(template["resources"][0]["condition"], json!(true));
}

#[test]
fn nameof_takes_the_last_name_of_a_property_index_or_nested_resource() {
    let template = compile(
        "var config = {\n  'server-name': 'a'\n  westus: 'b'\n}\nresource p 'My.Rp/parents@2020-01-01' = {\n  name: 'p'\n  resource c 'children' = {\n    name: 'c'\n  }\n}\noutput a string = nameof(config['server-name'])\noutput b string = nameof(config.westus)\noutput c string = nameof(p::c)\n",
    );
    assert_eq!(template["outputs"]["a"]["value"], json!("server-name"));
    assert_eq!(template["outputs"]["b"]["value"], json!("westus"));
    assert_eq!(template["outputs"]["c"]["value"], json!("c"));
}

#[test]
fn a_surrogate_pair_written_as_two_escapes_is_one_character() {
    let template = compile("var s = '\\u{D801}\\u{DC37}'\nvar t = '\\u{10437}'\n");
    assert_eq!(template["variables"]["s"], json!("\u{10437}"));
    assert_eq!(template["variables"]["t"], json!("\u{10437}"));
}

#[test]
fn a_ternary_may_continue_on_the_next_line_at_its_question_mark() {
    let template = compile("var a = true\n? 'x' : 'y'\nvar b = 1\n");
    assert_eq!(template["variables"]["a"], json!("[if(true(), 'x', 'y')]"));
    assert_eq!(template["variables"]["b"], json!(1));
}

#[test]
fn an_any_parameter_is_written_without_a_type() {
    let template = compile("param loose any\nparam withDefault any = loose.property\n");
    assert!(template.get("languageVersion").is_none());
    assert_eq!(
        template["parameters"],
        json!({"loose": {}, "withDefault": {"defaultValue": "[parameters('loose').property]"}})
    );
}
