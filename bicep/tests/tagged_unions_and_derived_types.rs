//! `@discriminator` tagged unions, unions of literal objects and tuples, type member access
//! (`t.p`, `t.*`, `t[0]`, `t[*]`, `t!`) and resource-derived types (`resourceInput<>`,
//! `resourceOutput<>`), each against the JSON the official compiler writes for the same
//! snippet (its docs and TypeDeclarations / ResourceDerivedTypes baselines, as our own cases).

mod support;

use serde_json::json;
use support::{compile, diagnostics, Workspace};

/// The emitted text itself, for checks of key order.
fn compile_text(text: &str) -> String {
    let workspace = Workspace::new();
    let path = workspace.file("main.bicep", text);
    bicep::compile_file(&path).template.unwrap_or_default()
}

#[test]
fn a_tagged_union_maps_each_discriminator_value_to_its_member() {
    let template = compile(
        "type cat = {\n  kind: 'cat'\n  lives: int\n}\n\
         type dog = {\n  kind: 'dog'\n  good: bool\n}\n\
         @discriminator('kind')\ntype pet = cat | dog | { kind: 'fish', fins: int }\n\
         @discriminator('kind')\ntype anyPet = pet | { kind: 'bird' }\n\
         @discriminator('kind')\nparam favourite (cat | dog)?\n\
         output o pet = { kind: 'cat', lives: 9 }\n",
    );
    assert_eq!(template["languageVersion"], "2.0");
    assert_eq!(
        template["definitions"]["pet"],
        json!({
            "type": "object",
            "discriminator": {
                "propertyName": "kind",
                "mapping": {
                    "cat": {"$ref": "#/definitions/cat"},
                    "dog": {"$ref": "#/definitions/dog"},
                    "fish": {"type": "object", "properties": {
                        "kind": {"type": "string", "allowedValues": ["fish"]},
                        "fins": {"type": "int"}
                    }}
                }
            }
        })
    );
    // A member that is itself a tagged union contributes its members, in member order.
    let mapping = &template["definitions"]["anyPet"]["discriminator"]["mapping"];
    assert_eq!(
        mapping["fish"]["properties"]["fins"],
        json!({"type": "int"})
    );
    assert_eq!(
        mapping["bird"]["properties"]["kind"]["allowedValues"],
        json!(["bird"])
    );
    let text = compile_text(
        "type cat = {\n  kind: 'cat'\n}\n@discriminator('kind')\ntype pet = { kind: 'zebra' } | cat\n",
    );
    let (zebra, cat) = (
        text.find("\"zebra\": {"),
        text.find("\"$ref\": \"#/definitions/cat\""),
    );
    assert!(zebra.is_some() && cat.is_some() && zebra < cat, "{text}");
    assert_eq!(
        template["parameters"]["favourite"],
        json!({
            "type": "object",
            "discriminator": {"propertyName": "kind", "mapping": {
                "cat": {"$ref": "#/definitions/cat"},
                "dog": {"$ref": "#/definitions/dog"}
            }},
            "nullable": true
        })
    );
    assert_eq!(
        template["outputs"]["o"],
        json!({"$ref": "#/definitions/pet", "value": {"kind": "cat", "lives": 9}})
    );
}

#[test]
fn a_property_or_tuple_item_can_be_a_tagged_union() {
    let template = compile(
        "type a = {\n  t: 'a'\n}\ntype b = {\n  t: 'b'\n}\n\
         type holder = {\n  @discriminator('t')\n  one: a | b\n  @discriminator('t')\n  *: (a | b)?\n}\n\
         type pair = [\n  @discriminator('t')\n  a | b\n  @description('second')\n  string\n]\n",
    );
    let refs = json!({"propertyName": "t", "mapping": {
        "a": {"$ref": "#/definitions/a"}, "b": {"$ref": "#/definitions/b"}
    }});
    assert_eq!(
        template["definitions"]["holder"],
        json!({
            "type": "object",
            "properties": {"one": {"type": "object", "discriminator": refs}},
            "additionalProperties": {"type": "object", "discriminator": refs, "nullable": true}
        })
    );
    assert_eq!(
        template["definitions"]["pair"],
        json!({
            "type": "array",
            "prefixItems": [
                {"type": "object", "discriminator": refs},
                {"type": "string", "metadata": {"description": "second"}}
            ],
            "items": false
        })
    );
}

#[test]
fn unions_of_literals_are_sorted_deduplicated_and_typed_by_their_first_member() {
    let template = compile(
        "type size = 'small' | 'large'\n\
         type more = size | 'medium' | 'large'\n\
         type mixed = ('b' | 'a' | { x: 'y' } | 10 | -10 | true | !true | null)[]\n\
         type shapes = ['z', 'y'] | ['a']\n\
         type single = | 'alone'\n\
         param choice {p: 'pong'} | {p: 'ping'} = {p: 'ping'}\n\
         param maybe 'x' | null\n\
         param list ('b' | 'a')[]\n",
    );
    let definitions = &template["definitions"];
    assert_eq!(
        definitions["more"],
        json!({"type": "string", "allowedValues": ["large", "medium", "small"]})
    );
    assert_eq!(
        definitions["mixed"],
        json!({"type": "array", "allowedValues": ["a", "b", -10, 10, false, null, true, {"x": "y"}]})
    );
    assert_eq!(
        definitions["shapes"],
        json!({"type": "array", "allowedValues": [["a"], ["z", "y"]]})
    );
    assert_eq!(
        definitions["single"],
        json!({"type": "string", "allowedValues": ["alone"]})
    );
    assert_eq!(
        template["parameters"]["choice"],
        json!({"type": "object", "allowedValues": [{"p": "ping"}, {"p": "pong"}], "defaultValue": {"p": "ping"}})
    );
    assert_eq!(
        template["parameters"]["maybe"],
        json!({"type": "string", "allowedValues": ["x"], "nullable": true})
    );
    assert_eq!(
        template["parameters"]["list"],
        json!({"type": "array", "allowedValues": ["a", "b"]})
    );
}

#[test]
fn type_member_access_points_into_the_definitions() {
    let template = compile(
        "type config = {\n  inner: {\n    count: int\n  }\n}\n\
         type counts = int[]\n\
         type pair = [string, counts]\n\
         type bag = {\n  *: bool\n}\n\
         type maybe = string?\n\
         type c = config.inner.count\n\
         type element = counts[*]\n\
         type second = pair[1]\n\
         type secondElement = pair[1][*]\n\
         type flag = bag.*\n\
         type sure = maybe!\n\
         type usesSys = { b: sys.bool }\n\
         type bool = string\n",
    );
    let definitions = &template["definitions"];
    assert_eq!(
        definitions["c"],
        json!({"$ref": "#/definitions/config/properties/inner/properties/count"})
    );
    assert_eq!(
        definitions["element"],
        json!({"$ref": "#/definitions/counts/items"})
    );
    assert_eq!(
        definitions["second"],
        json!({"$ref": "#/definitions/pair/prefixItems/1"})
    );
    assert_eq!(
        definitions["secondElement"],
        json!({"$ref": "#/definitions/counts/items"})
    );
    assert_eq!(
        definitions["flag"],
        json!({"$ref": "#/definitions/bag/additionalProperties"})
    );
    assert_eq!(
        definitions["sure"],
        json!({"$ref": "#/definitions/maybe", "nullable": false})
    );
    // `sys.bool` is the built-in type even though a user type is named `bool`.
    assert_eq!(
        definitions["usesSys"]["properties"]["b"],
        json!({"type": "bool"})
    );
}

#[test]
fn decorators_are_written_in_the_official_order() {
    // @metadata's object first, then the bounds, then the description merged into metadata.
    let template = compile(
        "@minLength(1)\n@description('d')\n@metadata({ example: [1] })\ntype list = int[]\n\
         type holder = {\n  @maxLength(3)\n  @description('p')\n  @minLength(1)\n  p: string\n}\n",
    );
    let text = compile_text(
        "@minLength(1)\n@description('d')\n@metadata({ example: 1 })\ntype list = int[]\n",
    );
    let compact: String = text.split_whitespace().collect();
    assert!(
        compact.contains(r#""list":{"type":"array","items":{"type":"int"},"metadata":{"example":1,"description":"d"},"minLength":1}"#),
        "{text}"
    );
    // An exported type says so in its metadata, before the description.
    let exported = compile_text("@export()\n@description('A size')\ntype size = 'S' | 'M'\n");
    let compact: String = exported.split_whitespace().collect();
    assert!(
        compact.contains(r#""size":{"type":"string","allowedValues":["M","S"],"metadata":{"__bicep_export!":true,"description":"Asize"}}"#),
        "{exported}"
    );
    assert_eq!(
        template["definitions"]["holder"]["properties"]["p"],
        json!({"type": "string", "minLength": 1, "maxLength": 3, "metadata": {"description": "p"}})
    );
}

#[test]
fn resource_derived_types_carry_their_source_pointer() {
    let template = compile(
        "type accountName = resourceInput<'Microsoft.Storage/storageAccounts@2023-01-01'>.name\n\
         type tagValue = sys.resourceInput<'az:Microsoft.Resources/tags@2022-09-01'>.properties.tags.*\n\
         type policy = resourceInput<'Microsoft.KeyVault/vaults@2022-07-01'>.properties.accessPolicies[*]\n\
         @description('where')\ntype where = resourceInput<\n  'Microsoft.Storage/storageAccounts@2023-01-01'\n>.location\n\
         param props resourceInput<'Microsoft.Resources/tags@2022-09-01'>.properties = {}\n\
         output id resourceOutput<'Microsoft.Storage/storageAccounts@2023-01-01'>.id = 'x'\n",
    );
    assert_eq!(template["languageVersion"], "2.0");
    let definitions = &template["definitions"];
    assert_eq!(
        definitions["accountName"],
        json!({"type": "string", "metadata": {"__bicep_resource_derived_type!": {
            "source": "Microsoft.Storage/storageAccounts@2023-01-01#properties/name"
        }}})
    );
    assert_eq!(
        definitions["tagValue"],
        json!({"type": "string", "metadata": {"__bicep_resource_derived_type!": {
            "source": "Microsoft.Resources/tags@2022-09-01#properties/properties/properties/tags/additionalProperties"
        }}})
    );
    assert_eq!(
        definitions["policy"]["metadata"]["__bicep_resource_derived_type!"]["source"],
        "Microsoft.KeyVault/vaults@2022-07-01#properties/properties/properties/accessPolicies/items"
    );
    assert_eq!(definitions["policy"]["type"], "object");
    assert_eq!(
        definitions["where"],
        json!({"type": "string", "metadata": {
            "__bicep_resource_derived_type!": {"source": "Microsoft.Storage/storageAccounts@2023-01-01#properties/location"},
            "description": "where"
        }})
    );
    assert_eq!(
        template["parameters"]["props"],
        json!({"type": "object", "metadata": {"__bicep_resource_derived_type!": {
            "source": "Microsoft.Resources/tags@2022-09-01#properties/properties"
        }}, "defaultValue": {}})
    );
    assert_eq!(
        template["outputs"]["id"],
        json!({"type": "string", "metadata": {"__bicep_resource_derived_type!": {
            "source": "Microsoft.Storage/storageAccounts@2023-01-01#properties/id", "output": true
        }}, "value": "x"})
    );
}

/// The emulator's own resource types are typed from the JSON Schemas its control plane
/// validates with; their read-only parts are not inputs.
#[test]
fn derived_types_of_the_emulators_own_resources() {
    let hsm = "resourceInput<'Microsoft.HardwareSecurityModules/cloudHsmClusters@2025-03-31'>";
    let template = compile(&format!(
        "type scope = {hsm}.properties.autoGeneratedDomainNameLabelScope\ntype capacity = {hsm}.sku.capacity\ntype sku = {hsm}.sku\n"
    ));
    let definitions = &template["definitions"];
    assert_eq!(definitions["scope"]["type"], "string");
    assert_eq!(
        definitions["scope"]["metadata"]["__bicep_resource_derived_type!"]["source"],
        "Microsoft.HardwareSecurityModules/cloudHsmClusters@2025-03-31#properties/properties/properties/autoGeneratedDomainNameLabelScope"
    );
    assert_eq!(definitions["capacity"]["type"], "int");
    assert_eq!(definitions["sku"]["type"], "object");
    let found = diagnostics(&format!("type hsms = {hsm}.properties.hsms\n"));
    assert!(
        found
            .iter()
            .any(|(l, c, code, _)| (*l, *c, code.as_str()) == (1, 13, "BCP901")),
        "{found:?}"
    );
}

#[test]
fn misuse_is_reported_with_codes_and_positions() {
    let cases: [(&str, &str, (usize, usize)); 8] = [
        // a member without the discriminator property as a string literal
        (
            "type a = {\n  k: 'a'\n}\n@discriminator('k')\ntype u = a | { k: string }\n",
            "BCP364",
            (5, 14),
        ),
        // two members with the same value
        (
            "type a = {\n  k: 'a'\n}\n@discriminator('k')\ntype u = a | { k: 'a' }\n",
            "BCP365",
            (5, 14),
        ),
        // a tagged union of non-objects
        (
            "@discriminator('k')\ntype u = 'a' | 'b'\n",
            "BCP363",
            (2, 10),
        ),
        // a union that no single ARM type holds
        ("type u = string | int\n", "BCP294", (1, 10)),
        ("type t = { a: int }\ntype u = t.b\n", "BCP052", (2, 10)),
        ("type t = { a: int }\ntype u = t.*\n", "BCP389", (2, 10)),
        (
            "type u = resourceInput<'nonsense'>.name\n",
            "BCP029",
            (1, 10),
        ),
        // a part of a resource body this compiler cannot type is refused, never guessed
        (
            "type u = resourceInput<'Microsoft.Web/sites@2023-01-01'>.properties.siteConfig\n",
            "BCP901",
            (1, 10),
        ),
    ];
    for (text, code, position) in cases {
        let found = diagnostics(text);
        assert!(
            found
                .iter()
                .any(|(line, column, c, _)| c == code && (*line, *column) == position),
            "{text}: {found:?}"
        );
    }
}
