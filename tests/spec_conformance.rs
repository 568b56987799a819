//! The emulator against the 2025-03-31 REST specification kept in
//! `schemas/spec/2025-03-31`: the spec's own example requests go through the
//! real server, and what comes back is validated against the spec's
//! definitions and compared field by field with the spec's example responses.

use std::path::PathBuf;

use cloudhsm_e2e_tests::{Emulator, SUB};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn spec_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schemas/spec/2025-03-31")
}

fn read_json(path: PathBuf) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn example(name: &str) -> Value {
    read_json(spec_dir().join("examples").join(format!("{name}.json")))
}

/// The spec's `$ref`s climb six folders to `common-types/`; these base URIs
/// recreate that layout so the references resolve as in the spec repository.
const OPENAPI_URI: &str = "https://spec.local/r/1/2/3/4/5/6/openapi.json";
const COMMON_V6: &str = "https://spec.local/r/common-types/resource-management/v6";

/// A validator for one definition of the spec (draft 4, as Swagger 2.0).
fn definition_validator(definition: &str) -> jsonschema::Validator {
    validator_for(&format!("{OPENAPI_URI}#/definitions/{definition}"))
}

/// A validator for the schema a `$ref` names (in the spec or its common types).
fn validator_for(reference: &str) -> jsonschema::Validator {
    let draft = jsonschema::Draft::Draft4;
    let resource = |file: &str| draft.create_resource(read_json(spec_dir().join(file)));
    let options = jsonschema::options()
        .with_draft(draft)
        .with_resource(OPENAPI_URI, resource("openapi-2025-03-31.json"))
        .with_resource(
            format!("{COMMON_V6}/types.json"),
            resource("common-types-v6-types.json"),
        )
        .with_resource(
            format!("{COMMON_V6}/managedidentity.json"),
            resource("common-types-managedidentity.json"),
        )
        .with_resource(
            format!("{COMMON_V6}/privatelinks.json"),
            resource("common-types-privatelinks.json"),
        )
        // privatelinks.json names a v5 Resource the spec never uses here.
        .with_resource(
            "https://spec.local/r/common-types/resource-management/v5/types.json",
            draft.create_resource(json!({"definitions": {"Resource": {"type": "object"}}})),
        );
    options
        .build(&json!({ "$ref": reference }))
        .unwrap_or_else(|e| panic!("building a validator for {reference}: {e}"))
}

fn assert_valid(definition: &str, instance: &Value) {
    let validator = definition_validator(definition);
    // The validator really checks: a wrong instance of the same shape fails.
    let mut broken = instance.clone();
    let field = if broken.get("value").is_some() {
        "value"
    } else {
        "properties"
    };
    match broken.get_mut(field) {
        Some(Value::Array(items)) => {
            items.push(json!({"properties": {"provisioningState": "Sleeping"}}))
        }
        Some(inner) => inner["provisioningState"] = json!("Sleeping"),
        None => panic!("nothing to break in {instance}"),
    }
    assert!(
        !validator.is_valid(&broken),
        "{definition} accepted a wrong provisioningState"
    );
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{definition} does not validate: {errors:?}\n{instance:#}"
    );
}

/// Every field we send exists in the spec's example; every field the example
/// shows (but for optional ones) is one we send. Recurses into objects.
fn assert_same_fields(ours: &Value, theirs: &Value, path: &str, optional: &[&str]) {
    assert_fields(ours, theirs, path, optional, &[]);
}

/// As [`assert_same_fields`], but `extra` names fields the spec defines that
/// its example happens to leave out (e.g. read-only `etag`, `groupIds`).
fn assert_fields(ours: &Value, theirs: &Value, path: &str, optional: &[&str], extra: &[&str]) {
    let (Value::Object(ours), Value::Object(theirs)) = (ours, theirs) else {
        return;
    };
    for key in ours.keys() {
        assert!(
            theirs.contains_key(key) || extra.contains(&format!("{path}{key}").as_str()),
            "we send '{path}{key}', which the spec's example does not have"
        );
    }
    for (key, value) in theirs {
        let field = format!("{path}{key}");
        if optional.contains(&field.as_str()) {
            continue;
        }
        assert!(
            ours.contains_key(key),
            "the spec's example has '{field}', which we do not send"
        );
        if key != "userAssignedIdentities" && key != "tags" {
            assert_fields(&ours[key], value, &format!("{field}."), optional, extra);
        }
    }
}

fn example_path(example: &Value) -> String {
    let p = &example["parameters"];
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters/{}?api-version={}",
        p["subscriptionId"].as_str().unwrap(),
        p["resourceGroupName"].as_str().unwrap(),
        p["cloudHsmClusterName"].as_str().unwrap(),
        p["api-version"].as_str().unwrap(),
    )
}

#[tokio::test]
async fn the_specs_examples_run_unchanged_and_responses_match_the_spec() {
    let emu = Emulator::start_with(&["--provisioning-delay", "100ms"]).await;
    let create = example("CloudHsmCluster_CreateOrUpdate_MaximumSet_Gen");
    assert_eq!(
        create["parameters"]["subscriptionId"], SUB,
        "the well-known subscription is the examples' one"
    );
    emu.put_group(create["parameters"]["resourceGroupName"].as_str().unwrap())
        .await;
    // The identity the example assigns must exist, as in Azure.
    emu.put_group("contoso-resources").await;
    emu.put_identity("contoso-resources", "identity-1").await;
    let path = example_path(&create);

    let created = emu
        .call(
            Method::PUT,
            &path,
            Some(create["parameters"]["body"].clone()),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    assert_valid("CloudHsmCluster", &created.body);
    // The example's 201 shows statusMessage only on its 200; hsms and
    // privateEndpointConnections are null there, arrays here: both valid.
    assert_same_fields(&created.body, &create["responses"]["201"]["body"], "", &[]);
    emu.wait_async_operation(&created.header("azure-asyncoperation").unwrap())
        .await;

    let get = example("CloudHsmCluster_Get_MaximumSet_Gen");
    assert_eq!(example_path(&get), path);
    let got = emu.call(Method::GET, &path, None).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_valid("CloudHsmCluster", &got.body);
    assert_same_fields(
        &got.body,
        &get["responses"]["200"]["body"],
        "",
        &["properties.statusMessage"],
    );
    assert_eq!(got.body["identity"]["type"], "UserAssigned");
    assert_eq!(got.body["tags"], get["responses"]["200"]["body"]["tags"]);

    let list = example("CloudHsmCluster_ListByResourceGroup_MaximumSet_Gen");
    let rg = list["parameters"]["resourceGroupName"].as_str().unwrap();
    let listed = emu
        .call(
            Method::GET,
            &format!("/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters?api-version=2025-03-31"),
            None,
        )
        .await;
    assert_valid("CloudHsmClusterListResult", &listed.body);
    assert_eq!(listed.body["value"].as_array().unwrap().len(), 1);

    let update = example("CloudHsmCluster_Update_MaximumSet_Gen");
    assert_eq!(example_path(&update), path);
    let patched = emu
        .call(
            Method::PATCH,
            &path,
            Some(update["parameters"]["body"].clone()),
        )
        .await;
    assert_eq!(patched.status, StatusCode::ACCEPTED, "{patched:?}");
    let done = emu
        .wait_location(&patched.header("location").unwrap())
        .await;
    assert_eq!(done.status, StatusCode::OK);
    assert_valid("CloudHsmCluster", &done.body);
    assert_eq!(done.body["tags"], update["parameters"]["body"]["tags"]);

    let delete = example("CloudHsmCluster_Delete_MaximumSet_Gen");
    assert_eq!(example_path(&delete), path);
    let deleted = emu.call(Method::DELETE, &path, None).await;
    assert!(
        delete["responses"]
            .get(deleted.status.as_u16().to_string())
            .is_some(),
        "{deleted:?}"
    );
    assert_eq!(
        emu.wait_location(&deleted.header("location").unwrap())
            .await
            .status,
        StatusCode::NO_CONTENT
    );

    let ops = example("OperationsList");
    let listed = emu
        .call(
            Method::GET,
            "/providers/Microsoft.HardwareSecurityModules/operations?api-version=2025-03-31",
            None,
        )
        .await;
    for op in listed.body["value"].as_array().unwrap() {
        assert_same_fields(op, &ops["responses"]["200"]["body"]["value"][1], "", &[]);
    }
}

#[tokio::test]
async fn request_schemas_agree_with_the_spec() {
    let spec = read_json(spec_dir().join("openapi-2025-03-31.json"));
    let put = read_json(spec_dir().join("../../cloudHsmClusters.put.json"));
    let defs = &spec["definitions"];
    let enum_of = |name: &str| defs[name]["enum"].clone();
    assert_eq!(
        put["properties"]["sku"]["properties"]["family"]["enum"],
        enum_of("CloudHsmClusterSkuFamily")
    );
    assert_eq!(
        put["properties"]["sku"]["properties"]["name"]["enum"],
        enum_of("CloudHsmClusterSkuName")
    );
    let props = &put["properties"]["properties"]["properties"];
    assert_eq!(
        props["autoGeneratedDomainNameLabelScope"]["enum"],
        enum_of("AutoGeneratedDomainNameLabelScope")
    );
    assert_eq!(
        props["publicNetworkAccess"]["enum"],
        enum_of("PublicNetworkAccess")
    );
    assert_eq!(
        put["properties"]["sku"]["required"],
        defs["CloudHsmClusterSku"]["required"]
    );
    // Every property the spec lets a client write is one our schema knows;
    // every read-only one is accepted and ignored.
    for (name, definition) in defs["CloudHsmClusterProperties"]["properties"]
        .as_object()
        .unwrap()
    {
        assert!(props.get(name).is_some(), "schema lacks properties.{name}");
        if definition["readOnly"] == true {
            assert_eq!(
                props[name]["$ref"], "common.json#/$defs/readOnly",
                "properties.{name} is read-only in the spec"
            );
        }
    }
    let patch = read_json(spec_dir().join("../../cloudHsmClusters.patch.json"));
    let spec_patch: Vec<&String> = defs["CloudHsmClusterPatchParameters"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    let ours: Vec<&String> = patch["properties"].as_object().unwrap().keys().collect();
    assert_eq!(spec_patch.len(), ours.len());
    for key in spec_patch {
        assert!(ours.contains(&key), "patch schema lacks {key}");
    }
}

fn child_path(example: &Value, child: &str) -> String {
    let p = &example["parameters"];
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters/{}/{child}?api-version={}",
        p["subscriptionId"].as_str().unwrap(),
        p["resourceGroupName"].as_str().unwrap(),
        p["cloudHsmClusterName"].as_str().unwrap(),
        p["api-version"].as_str().unwrap(),
    )
}

#[tokio::test]
async fn the_specs_private_link_examples_run_unchanged() {
    let emu = Emulator::start_with(&["--provisioning-delay", "100ms"]).await;
    let create = example("CloudHsmClusterPrivateEndpointConnection_Create_MaximumSet_Gen");
    let p = &create["parameters"];
    let (group, cluster, pec) = (
        p["resourceGroupName"].as_str().unwrap(),
        p["cloudHsmClusterName"].as_str().unwrap(),
        p["peConnectionName"].as_str().unwrap(),
    );
    emu.put_group(group).await;
    let cluster_id = emu.create_cluster(group, cluster).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    // The connection comes from a private endpoint of the same name, as in Azure.
    let endpoint = emu
        .call(
            Method::PUT,
            &format!("/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.Network/privateEndpoints/{pec}?api-version=2024-05-01"),
            Some(json!({
                "location": "eastus2",
                "properties": {
                    "subnet": {"id": format!("/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.Network/virtualNetworks/v/subnets/s")},
                    "manualPrivateLinkServiceConnections": [{"name": "c", "properties": {"privateLinkServiceId": cluster_id, "groupIds": ["cloudHsm"]}}]
                }
            })),
        )
        .await;
    assert_eq!(endpoint.status, StatusCode::CREATED, "{endpoint:?}");
    let pec_path = child_path(&create, &format!("privateEndpointConnections/{pec}"));
    // Read-only fields the spec defines that its examples leave out.
    let extra = ["etag", "properties.groupIds"];

    let created = emu
        .call(
            Method::PUT,
            &pec_path,
            Some(create["parameters"]["properties"].clone()),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{created:?}");
    assert_valid("PrivateEndpointConnection", &created.body);
    let expected = &create["responses"]["200"]["body"];
    assert_fields(&created.body, expected, "", &[], &extra);
    assert_eq!(
        created.body["properties"]["privateLinkServiceConnectionState"],
        expected["properties"]["privateLinkServiceConnectionState"]
    );

    let get = example("CloudHsmClusterPrivateEndpointConnection_Get_MaximumSet_Gen");
    let got = emu.call(Method::GET, &pec_path, None).await;
    assert_valid("PrivateEndpointConnection", &got.body);
    assert_fields(&got.body, &get["responses"]["200"]["body"], "", &[], &extra);

    let list =
        example("CloudHsmClusterPrivateEndpointConnection_ListByCloudHsmCluster_MaximumSet_Gen");
    let listed = emu
        .call(
            Method::GET,
            &child_path(&list, "privateEndpointConnections"),
            None,
        )
        .await;
    assert_valid("PrivateEndpointConnectionListResult", &listed.body);
    assert_fields(
        &listed.body["value"][0],
        &list["responses"]["200"]["body"]["value"][0],
        "",
        &[],
        &extra,
    );

    let links = example("CloudHsmClusterPrivateLinkResource_ListByCloudHsmCluster_MaximumSet_Gen");
    let linked = emu
        .call(
            Method::GET,
            &child_path(&links, "privateLinkResources"),
            None,
        )
        .await;
    let errors: Vec<String> = validator_for(&format!(
        "{COMMON_V6}/privatelinks.json#/definitions/PrivateLinkResourceListResult"
    ))
    .iter_errors(&linked.body)
    .map(|e| e.to_string())
    .collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_same_fields(
        &linked.body["value"][0],
        &links["responses"]["200"]["body"]["value"][0],
        "",
        &[],
    );

    let delete = example("CloudHsmClusterPrivateEndpointConnection_Delete_MaximumSet_Gen");
    let deleted = emu.call(Method::DELETE, &pec_path, None).await;
    assert!(
        delete["responses"]
            .get(deleted.status.as_u16().to_string())
            .is_some(),
        "{deleted:?}"
    );
    let done = emu
        .wait_location(&deleted.header("location").unwrap())
        .await;
    assert_eq!(done.status, StatusCode::NO_CONTENT);
}
