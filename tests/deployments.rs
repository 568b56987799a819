//! Template deployments end to end against the real binary: the templates
//! users deploy (bicep/templates), validation errors, a failing resource,
//! Complete mode, what-if, cancel and delete rules, and a deployment
//! interrupted by kill -9.

use cloudhsm_e2e_tests::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn body(template: Value, parameters: Value) -> Value {
    json!({ "properties": { "mode": "Incremental", "template": template, "parameters": parameters } })
}

fn operations_path(group: &str, name: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.Resources/deployments/{name}/operations?api-version={DEPLOYMENTS_API}")
}

fn action_path(group: &str, name: &str, action: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.Resources/deployments/{name}/{action}?api-version={DEPLOYMENTS_API}")
}

fn cluster_resource(name: &str, sku: &str) -> Value {
    json!({
        "type": "Microsoft.HardwareSecurityModules/cloudHsmClusters",
        "apiVersion": "2025-03-31",
        "name": name,
        "location": "[resourceGroup().location]",
        "sku": { "family": "B", "name": sku },
    })
}

fn template(resources: Value) -> Value {
    json!({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": resources,
    })
}

#[tokio::test]
async fn a_cluster_with_its_identity_and_blob_role_deploys_with_outputs() {
    let emu = Emulator::start().await;
    emu.put_group("rg").await;
    let deployment = emu
        .deploy(
            &deployment_path("rg", "main"),
            body(
                shipped_template("cluster-with-identity.json"),
                json!({ "clusterName": { "value": "chsm1" } }),
            ),
        )
        .await;
    let props = &deployment["properties"];
    assert_eq!(props["provisioningState"], "Succeeded", "{deployment}");
    assert_eq!(
        props["outputs"]["clusterId"]["value"],
        format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters/chsm1")
    );
    assert_eq!(props["outputs"]["clusterId"]["type"], "String");
    let fqdns = props["outputs"]["hsmFqdns"]["value"].as_array().unwrap();
    assert_eq!(fqdns.len(), 3);
    let identity = emu
        .call(Method::GET, &identity_path("rg", "chsm1-backup"), None)
        .await;
    assert_eq!(
        props["outputs"]["identityPrincipalId"]["value"],
        identity.body["properties"]["principalId"]
    );
    // The parameters as given, with the defaults' types; three resources out.
    assert_eq!(
        props["parameters"]["clusterName"],
        json!({ "type": "String", "value": "chsm1" })
    );
    assert_eq!(props["outputResources"].as_array().unwrap().len(), 3);
    assert_eq!(props["mode"], "Incremental");
    assert!(props["templateHash"]
        .as_str()
        .is_some_and(|h| !h.is_empty()));
    assert!(props["duration"].as_str().unwrap().starts_with("PT"));
    let deps = props["dependencies"].as_array().unwrap();
    assert!(deps.iter().any(|d| d["resourceType"]
        == "Microsoft.HardwareSecurityModules/cloudHsmClusters"
        && d["dependsOn"][0]["resourceType"]
            == "Microsoft.ManagedIdentity/userAssignedIdentities"));

    // The cluster really uses the identity, and the role assignment is real.
    let cluster = emu
        .call(Method::GET, &cluster_path("rg", "chsm1"), None)
        .await;
    assert!(cluster.body["identity"]["userAssignedIdentities"]
        .as_object()
        .unwrap()
        .keys()
        .any(|k| k.ends_with("/chsm1-backup")));
    let assignments = emu
        .call(
            Method::GET,
            &format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01"),
            None,
        )
        .await;
    assert!(assignments.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| {
            a["properties"]["principalId"] == identity.body["properties"]["principalId"]
                && a["properties"]["roleDefinitionId"]
                    .as_str()
                    .unwrap()
                    .ends_with("ba92f5b4-2d11-453d-a403-e96b0029c9fe")
        }));

    // One operation per resource, each Succeeded with its target.
    let ops = emu
        .call(Method::GET, &operations_path("rg", "main"), None)
        .await;
    let ops = ops.body["value"].as_array().unwrap().clone();
    assert_eq!(ops.len(), 3, "{ops:?}");
    assert!(ops
        .iter()
        .all(|o| o["properties"]["provisioningState"] == "Succeeded"
            && o["properties"]["targetResource"]["id"].as_str().is_some()
            && o["properties"]["provisioningOperation"] == "Create"));

    // Redeploying the same template is idempotent; exportTemplate gives it back.
    let again = emu
        .deploy(
            &deployment_path("rg", "main"),
            body(
                shipped_template("cluster-with-identity.json"),
                json!({ "clusterName": { "value": "chsm1" } }),
            ),
        )
        .await;
    assert_eq!(
        again["properties"]["provisioningState"], "Succeeded",
        "{again}"
    );
    let exported = emu
        .call(
            Method::POST,
            &action_path("rg", "main", "exportTemplate"),
            None,
        )
        .await;
    assert_eq!(
        exported.body["template"],
        shipped_template("cluster-with-identity.json")
    );
}

#[tokio::test]
async fn copy_loops_private_endpoints_and_subscription_scope_deployments() {
    let emu = Emulator::start().await;
    emu.put_group("rg").await;
    let copies = emu
        .deploy(
            &deployment_path("rg", "copies"),
            body(
                shipped_template("clusters-copy.json"),
                json!({ "count": { "value": 2 } }),
            ),
        )
        .await;
    assert_eq!(
        copies["properties"]["provisioningState"], "Succeeded",
        "{copies}"
    );
    let names = copies["properties"]["outputs"]["names"]["value"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(names.len(), 2);
    for (i, name) in names.iter().enumerate() {
        let cluster = emu
            .call(
                Method::GET,
                &cluster_path("rg", name.as_str().unwrap()),
                None,
            )
            .await;
        assert_eq!(cluster.status, StatusCode::OK);
        assert_eq!(cluster.body["tags"]["index"], i.to_string());
    }

    let subnet = format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/s");
    let pe = emu
        .deploy(
            &deployment_path("rg", "pe"),
            body(
                shipped_template("cluster-private-endpoint.json"),
                json!({ "clusterName": { "value": "chsmpe" }, "subnetId": { "value": subnet } }),
            ),
        )
        .await;
    assert_eq!(pe["properties"]["provisioningState"], "Succeeded", "{pe}");
    assert_eq!(
        pe["properties"]["outputs"]["connectionState"]["value"],
        "Approved"
    );

    let sub_path = format!("/subscriptions/{SUB}/providers/Microsoft.Resources/deployments/sub?api-version={DEPLOYMENTS_API}");
    let mut sub_body = body(
        shipped_template("subscription-group-and-cluster.json"),
        json!({ "groupName": { "value": "made" }, "clusterName": { "value": "chsmsub" } }),
    );
    // A subscription deployment needs a location.
    let refused = emu
        .call(Method::PUT, &sub_path, Some(sub_body.clone()))
        .await;
    refused.expect_error(StatusCode::BAD_REQUEST, "LocationRequired");
    sub_body["location"] = json!("eastus2");
    let sub = emu.deploy(&sub_path, sub_body).await;
    assert_eq!(sub["properties"]["provisioningState"], "Succeeded", "{sub}");
    assert_eq!(
        sub["properties"]["outputs"]["clusterId"]["value"],
        format!("/subscriptions/{SUB}/resourceGroups/made/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters/chsmsub")
    );
    // The nested deployment is a deployment of the new group.
    let nested = emu
        .call(Method::GET, &deployment_path("made", "cluster"), None)
        .await;
    assert_eq!(nested.body["properties"]["provisioningState"], "Succeeded");
}

#[tokio::test]
async fn validation_names_the_fault_and_deploys_nothing() {
    let emu = Emulator::start().await;
    emu.put_group("rg").await;
    let validate = |template: Value, params: Value| {
        let emu = &emu;
        async move {
            emu.call(
                Method::POST,
                &action_path("rg", "v", "validate"),
                Some(body(template, params)),
            )
            .await
        }
    };
    let ok = validate(shipped_template("clusters-copy.json"), json!({})).await;
    assert_eq!(ok.status, StatusCode::OK, "{ok:?}");
    assert_eq!(
        ok.body["properties"]["validatedResources"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    let bad_sku = validate(
        shipped_template("cluster-with-identity.json"),
        json!({ "clusterName": { "value": "chsm1" }, "skuName": { "value": "Standard_Z9" } }),
    )
    .await;
    let error = bad_sku.expect_error(StatusCode::BAD_REQUEST, "InvalidTemplate");
    assert!(
        error["message"].as_str().unwrap().contains("skuName"),
        "{error}"
    );
    let short = validate(
        shipped_template("cluster-with-identity.json"),
        json!({ "clusterName": { "value": "c" } }),
    )
    .await;
    assert!(
        short.expect_error(StatusCode::BAD_REQUEST, "InvalidTemplate")["message"]
            .as_str()
            .unwrap()
            .contains("minimum length")
    );
    let missing = validate(shipped_template("cluster-with-identity.json"), json!({})).await;
    assert!(
        missing.expect_error(StatusCode::BAD_REQUEST, "InvalidTemplate")["message"]
            .as_str()
            .unwrap()
            .contains("'clusterName' is not provided")
    );
    let unknown = validate(
        shipped_template("clusters-copy.json"),
        json!({ "nope": { "value": 1 } }),
    )
    .await;
    assert!(
        unknown.expect_error(StatusCode::BAD_REQUEST, "InvalidTemplate")["message"]
            .as_str()
            .unwrap()
            .contains("nope")
    );

    let mut a = cluster_resource("a", "Standard_B1");
    a["dependsOn"] = json!(["b"]);
    let mut b = cluster_resource("b", "Standard_B1");
    b["dependsOn"] = json!(["a"]);
    let cycle = validate(template(json!([a, b])), json!({})).await;
    let message = cycle.expect_error(StatusCode::BAD_REQUEST, "InvalidTemplate")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.contains("Circular dependency")
            && message.contains("'a'")
            && message.contains("'b'"),
        "{message}"
    );

    let bad_expression = validate(
        template(json!([cluster_resource("[concat('a', ]", "Standard_B1")])),
        json!({}),
    )
    .await;
    bad_expression.expect_error(StatusCode::BAD_REQUEST, "InvalidTemplate");
    let bad_segments = validate(
        template(json!([{ "type": "Microsoft.HardwareSecurityModules/cloudHsmClusters", "apiVersion": "2025-03-31", "name": "a/b", "location": "eastus2" }])),
        json!({}),
    )
    .await;
    assert!(
        bad_segments.expect_error(StatusCode::BAD_REQUEST, "InvalidTemplate")["message"]
            .as_str()
            .unwrap()
            .contains("segment")
    );

    // A PUT with the same faults is refused at once and leaves no deployment.
    let put = emu
        .call(
            Method::PUT,
            &deployment_path("rg", "v"),
            Some(body(template(json!([a_b_cycle()])), json!({}))),
        )
        .await;
    assert_eq!(put.status, StatusCode::BAD_REQUEST);
    emu.call(Method::GET, &deployment_path("rg", "v"), None)
        .await
        .expect_error(StatusCode::NOT_FOUND, "DeploymentNotFound");
}

fn a_b_cycle() -> Value {
    let mut a = cluster_resource("a", "Standard_B1");
    a["dependsOn"] = json!(["a-missing"]);
    a
}

#[tokio::test]
async fn a_refused_resource_fails_the_deployment_with_its_own_error() {
    let emu = Emulator::start().await;
    emu.put_group("rg").await;
    let mut dependent = json!({
        "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
        "apiVersion": "2023-01-31",
        "name": "after-bad",
        "location": "eastus2",
        "dependsOn": ["bad"],
    });
    let independent = json!({
        "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
        "apiVersion": "2023-01-31",
        "name": "independent",
        "location": "eastus2",
    });
    let widget = json!({ "type": "Microsoft.Contoso/widgets", "apiVersion": "2025-01-01", "name": "w", "location": "eastus2" });
    dependent["location"] = json!("eastus2");
    let deployment = emu
        .deploy(
            &deployment_path("rg", "broken"),
            body(
                template(json!([
                    cluster_resource("bad", "Standard_Z9"),
                    dependent,
                    independent,
                    widget
                ])),
                json!({}),
            ),
        )
        .await;
    let props = &deployment["properties"];
    assert_eq!(props["provisioningState"], "Failed", "{deployment}");
    assert_eq!(props["error"]["code"], "DeploymentFailed");
    let details = props["error"]["details"].as_array().unwrap();
    assert_eq!(details.len(), 2, "{details:?}");
    let cluster_error = details
        .iter()
        .find(|d| {
            d["target"]
                .as_str()
                .unwrap()
                .ends_with("/cloudHsmClusters/bad")
        })
        .unwrap();
    assert_eq!(
        cluster_error["code"], "InvalidRequestContent",
        "{cluster_error}"
    );
    let widget_error = details
        .iter()
        .find(|d| d["target"].as_str().unwrap().ends_with("/widgets/w"))
        .unwrap();
    assert_eq!(widget_error["code"], "NoRegisteredProviderFound");
    // The independent resource was deployed, the dependent one never sent.
    assert_eq!(
        emu.status_of(&identity_path("rg", "independent")).await,
        StatusCode::OK
    );
    assert_eq!(
        emu.status_of(&identity_path("rg", "after-bad")).await,
        StatusCode::NOT_FOUND
    );
    let ops = emu
        .call(Method::GET, &operations_path("rg", "broken"), None)
        .await;
    let failed: Vec<&Value> = ops.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["properties"]["provisioningState"] == "Failed")
        .collect();
    assert_eq!(failed.len(), 2);
    assert!(failed
        .iter()
        .any(|o| o["properties"]["statusCode"] == "BadRequest"
            && o["properties"]["statusMessage"]["error"]["code"] == "InvalidRequestContent"));

    // Failed deployments are listed by that state.
    let listed = emu
        .call(
            Method::GET,
            &format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Resources/deployments?api-version={DEPLOYMENTS_API}&$filter=provisioningState%20eq%20'Failed'"),
            None,
        )
        .await;
    assert_eq!(listed.body["value"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn complete_mode_removes_what_the_template_does_not_name_and_what_if_predicts_it() {
    let emu = Emulator::start().await;
    emu.put_group("rg").await;
    emu.put_identity("rg", "stray").await;
    emu.put_identity("rg", "kept").await;
    let kept = json!({
        "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
        "apiVersion": "2023-01-31",
        "name": "kept",
        "location": "eastus2",
        "tags": { "new": "tag" },
    });
    let fresh = json!({
        "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
        "apiVersion": "2023-01-31",
        "name": "fresh",
        "location": "eastus2",
    });
    let mut complete = body(template(json!([kept, fresh])), json!({}));
    complete["properties"]["mode"] = json!("Complete");
    let what_if = emu
        .call(
            Method::POST,
            &action_path("rg", "c", "whatIf"),
            Some(complete.clone()),
        )
        .await;
    assert_eq!(what_if.status, StatusCode::OK, "{what_if:?}");
    let changes = what_if.body["properties"]["changes"]
        .as_array()
        .unwrap()
        .clone();
    let change = |name: &str| {
        changes
            .iter()
            .find(|c| {
                c["resourceId"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!("/{name}"))
            })
            .map(|c| c["changeType"].as_str().unwrap().to_string())
    };
    assert_eq!(change("fresh").as_deref(), Some("Create"));
    assert_eq!(change("kept").as_deref(), Some("Modify"));
    assert_eq!(change("stray").as_deref(), Some("Delete"));
    // What-if wrote nothing.
    assert_eq!(
        emu.status_of(&identity_path("rg", "fresh")).await,
        StatusCode::NOT_FOUND
    );

    let done = emu.deploy(&deployment_path("rg", "c"), complete).await;
    assert_eq!(
        done["properties"]["provisioningState"], "Succeeded",
        "{done}"
    );
    assert_eq!(
        emu.status_of(&identity_path("rg", "stray")).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        emu.status_of(&identity_path("rg", "fresh")).await,
        StatusCode::OK
    );
    let kept = emu
        .call(Method::GET, &identity_path("rg", "kept"), None)
        .await;
    assert_eq!(kept.body["tags"]["new"], "tag");
    let ops = emu
        .call(Method::GET, &operations_path("rg", "c"), None)
        .await;
    assert!(ops.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["properties"]["provisioningOperation"] == "Delete"
            && o["properties"]["targetResource"]["id"]
                .as_str()
                .unwrap()
                .ends_with("/stray")));
}

#[tokio::test]
async fn a_running_deployment_can_be_cancelled_not_deleted() {
    let emu = Emulator::start_with(&["--provisioning-delay", "3s"]).await;
    emu.put_group("rg").await;
    let reply = emu
        .call(
            Method::PUT,
            &deployment_path("rg", "slow"),
            Some(body(
                template(json!([cluster_resource("slow1", "Standard_B1")])),
                json!({}),
            )),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    emu.call(Method::DELETE, &deployment_path("rg", "slow"), None)
        .await
        .expect_error(StatusCode::CONFLICT, "DeploymentActive");
    let again = emu
        .call(
            Method::PUT,
            &deployment_path("rg", "slow"),
            Some(body(template(json!([])), json!({}))),
        )
        .await;
    again.expect_error(StatusCode::CONFLICT, "DeploymentActive");
    let cancel = emu
        .call(Method::POST, &action_path("rg", "slow", "cancel"), None)
        .await;
    assert_eq!(cancel.status, StatusCode::NO_CONTENT, "{cancel:?}");
    let shown = emu
        .call(Method::GET, &deployment_path("rg", "slow"), None)
        .await;
    assert_eq!(shown.body["properties"]["provisioningState"], "Canceled");
    emu.call(Method::POST, &action_path("rg", "slow", "cancel"), None)
        .await
        .expect_error(StatusCode::CONFLICT, "DeploymentCannotBeCancelled");
    let deleted = emu
        .call(Method::DELETE, &deployment_path("rg", "slow"), None)
        .await;
    assert!(deleted.status.is_success());
    emu.call(Method::GET, &deployment_path("rg", "slow"), None)
        .await
        .expect_error(StatusCode::NOT_FOUND, "DeploymentNotFound");
    // A group's deployments go with it.
    emu.deploy(
        &deployment_path("rg", "kept-history"),
        body(template(json!([])), json!({})),
    )
    .await;
    let deleting = emu.call(Method::DELETE, &group_path("rg"), None).await;
    assert_eq!(deleting.status, StatusCode::ACCEPTED, "{deleting:?}");
    emu.wait_location(&deleting.header("location").unwrap())
        .await;
    emu.put_group("rg").await;
    assert_eq!(
        emu.status_of(&deployment_path("rg", "kept-history")).await,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_deployment_interrupted_by_kill_9_finishes_after_the_restart() {
    let emu = Emulator::start_with(&["--provisioning-delay", "2s"]).await;
    emu.put_group("rg").await;
    let reply = emu
        .call(
            Method::PUT,
            &deployment_path("rg", "crash"),
            Some(body(
                shipped_template("clusters-copy.json"),
                json!({ "count": { "value": 2 } }),
            )),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let emu = emu.restart().await;
    // The restarted emulator listens on another port: keep the URL's path.
    let status_url = reply.header("azure-asyncoperation").unwrap();
    let status_path = &status_url[status_url.find("/subscriptions/").unwrap()..];
    let status = emu.wait_deployment_status(status_path).await;
    assert_eq!(status["status"], "Succeeded", "{status}");
    let shown = emu
        .call(Method::GET, &deployment_path("rg", "crash"), None)
        .await;
    assert_eq!(
        shown.body["properties"]["outputs"]["names"]["value"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn language_version_2_symbolic_names_existing_user_functions_and_copies() {
    let emu = Emulator::start().await;
    emu.put_group("rg").await;
    let identity = emu.put_identity("rg", "owner-id").await;
    let subnet = format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/s");
    let template = json!({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "languageVersion": "2.0",
        "contentVersion": "1.0.0.0",
        "definitions": {
            "clusterConfig": {
                "type": "object",
                "properties": {
                    "name": { "type": "string" },
                    "sku": { "type": "string", "allowedValues": ["Standard_B1", "Standard B10"] }
                }
            }
        },
        "functions": [{
            "namespace": "hsm",
            "members": {
                "clusterName": {
                    "parameters": [{ "name": "base", "type": "string" }, { "name": "i", "type": "int" }],
                    "output": { "type": "string", "value": "[format('{0}-{1}', parameters('base'), parameters('i'))]" }
                }
            }
        }],
        "parameters": {
            "config": { "$ref": "#/definitions/clusterConfig" },
            "existingIdentity": { "type": "string" }
        },
        "variables": {
            "copy": [{ "name": "indexes", "count": 2, "input": "[copyIndex('indexes')]" }]
        },
        "resources": {
            "identity": {
                "existing": true,
                "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
                "apiVersion": "2023-01-31",
                "name": "[parameters('existingIdentity')]"
            },
            "clusters": {
                "copy": { "name": "clusters", "count": "[length(variables('indexes'))]" },
                "type": "Microsoft.HardwareSecurityModules/cloudHsmClusters",
                "apiVersion": "2025-03-31",
                "name": "[hsm.clusterName(parameters('config').name, copyIndex())]",
                "location": "[resourceGroup().location]",
                "sku": { "family": "B", "name": "[parameters('config').sku]" },
                "tags": { "owner": "[reference('identity').principalId]" }
            },
            "endpoint": {
                "type": "Microsoft.Network/privateEndpoints",
                "apiVersion": "2024-05-01",
                "name": "pe-v2",
                "location": "[resourceGroup().location]",
                "dependsOn": ["clusters"],
                "properties": {
                    "subnet": { "id": subnet },
                    "copy": [{
                        "name": "privateLinkServiceConnections",
                        "count": 1,
                        "input": {
                            "name": "[format('conn{0}', copyIndex('privateLinkServiceConnections'))]",
                            "properties": {
                                "privateLinkServiceId": "[resourceId('Microsoft.HardwareSecurityModules/cloudHsmClusters', hsm.clusterName(parameters('config').name, 0))]",
                                "groupIds": ["cloudHsm"]
                            }
                        }
                    }]
                }
            }
        },
        "outputs": {
            "owner": { "type": "string", "value": "[reference('identity').principalId]" },
            "names": {
                "type": "array",
                "value": "[map(variables('indexes'), lambda('i', hsm.clusterName(parameters('config').name, lambdaVariables('i'))))]"
            }
        }
    });
    let params = json!({
        "config": { "value": { "name": "v2", "sku": "Standard_B1" } },
        "existingIdentity": { "value": "owner-id" }
    });
    let deployment = emu
        .deploy(&deployment_path("rg", "v2"), body(template.clone(), params))
        .await;
    let props = &deployment["properties"];
    assert_eq!(props["provisioningState"], "Succeeded", "{deployment}");
    assert_eq!(
        props["outputs"]["owner"]["value"],
        identity["properties"]["principalId"]
    );
    assert_eq!(props["outputs"]["names"]["value"], json!(["v2-0", "v2-1"]));
    for name in ["v2-0", "v2-1"] {
        let cluster = emu.call(Method::GET, &cluster_path("rg", name), None).await;
        assert_eq!(
            cluster.body["tags"]["owner"],
            identity["properties"]["principalId"]
        );
    }
    let endpoint = emu
        .call(Method::GET, &endpoint_path("rg", "pe-v2"), None)
        .await;
    assert_eq!(
        endpoint.body["properties"]["privateLinkServiceConnections"][0]["name"],
        "conn0"
    );
    // The existing identity was read, not written: its operation says so.
    let ops = emu
        .call(Method::GET, &operations_path("rg", "v2"), None)
        .await;
    assert!(ops.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["properties"]["provisioningOperation"] == "Read"));

    // A user-defined type's allowed values hold for its properties too.
    let bad = json!({
        "config": { "value": { "name": "v2", "sku": "Standard_Z9" } },
        "existingIdentity": { "value": "owner-id" }
    });
    let refused = emu
        .call(
            Method::POST,
            &action_path("rg", "v2", "validate"),
            Some(body(template, bad)),
        )
        .await;
    refused.expect_error(StatusCode::BAD_REQUEST, "InvalidTemplate");
}

#[tokio::test]
async fn extension_resources_take_their_scope_and_secure_values_stay_hidden() {
    let emu = Emulator::start().await;
    emu.put_group("rg").await;
    let identity = emu.put_identity("rg", "reader").await;
    let template = json!({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {
            "principalId": { "type": "string" },
            "secret": { "type": "securestring" }
        },
        "resources": [
            cluster_resource("scoped", "Standard_B1"),
            {
                "type": "Microsoft.Authorization/roleAssignments",
                "apiVersion": "2022-04-01",
                "name": "[guid('scoped', parameters('principalId'))]",
                "scope": "Microsoft.HardwareSecurityModules/cloudHsmClusters/scoped",
                "dependsOn": ["scoped"],
                "properties": {
                    "roleDefinitionId": "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'acdd72a7-3385-48ef-bd42-f606fba81ae7')]",
                    "principalId": "[parameters('principalId')]",
                    "principalType": "ServicePrincipal"
                }
            }
        ],
        "outputs": {
            "echo": { "type": "securestring", "value": "[parameters('secret')]" },
            "length": { "type": "int", "value": "[length(parameters('secret'))]" }
        }
    });
    let params = json!({
        "principalId": { "value": identity["properties"]["principalId"] },
        "secret": { "value": "s3cr3t-value" }
    });
    let deployment = emu
        .deploy(&deployment_path("rg", "ext"), body(template, params))
        .await;
    assert_eq!(
        deployment["properties"]["provisioningState"], "Succeeded",
        "{deployment}"
    );
    let text = deployment.to_string();
    assert!(!text.contains("s3cr3t-value"), "{text}");
    assert_eq!(
        deployment["properties"]["parameters"]["secret"],
        json!({ "type": "SecureString" })
    );
    assert_eq!(
        deployment["properties"]["outputs"]["echo"],
        json!({ "type": "SecureString" })
    );
    assert_eq!(deployment["properties"]["outputs"]["length"]["value"], 12);
    let at_cluster = emu
        .call(
            Method::GET,
            &format!(
                "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters/scoped/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=atScope()"
            ),
            None,
        )
        .await;
    let listed = at_cluster.body["value"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{at_cluster:?}");
    assert!(listed[0]["id"]
        .as_str()
        .unwrap()
        .contains("/cloudHsmClusters/scoped/providers/Microsoft.Authorization/roleAssignments/"));
}

#[tokio::test]
async fn the_history_keeps_at_most_800_and_past_700_forgets_the_oldest() {
    let emu = Emulator::start().await;
    emu.put_group("rg").await;
    let empty = body(template(json!([])), json!({}));
    let name = |i: usize| format!("d{i:04}");
    let deploy = |i: usize| {
        let (emu, empty) = (&emu, empty.clone());
        async move {
            let reply = emu
                .call(Method::PUT, &deployment_path("rg", &name(i)), Some(empty))
                .await;
            assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        }
    };
    let list = format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Resources/deployments?api-version={DEPLOYMENTS_API}");
    let settle = || async {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        loop {
            let all = emu.call(Method::GET, &list, None).await;
            let values = all.body["value"].as_array().expect("value").clone();
            let running = values
                .iter()
                .filter(|d| d["properties"]["provisioningState"] != "Succeeded")
                .count();
            if running == 0 {
                return values.len();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{running} never finished"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    };
    for i in 0..700 {
        deploy(i).await;
    }
    assert_eq!(settle().await, 700, "nothing goes up to 700");
    // Redeploying a name moves it to the newest place.
    deploy(0).await;
    assert_eq!(settle().await, 700);

    // The 701st: the oldest go until 600 are left, their operations with
    // them; the resources they deployed are not touched (there are none).
    deploy(700).await;
    assert_eq!(settle().await, 600);
    for gone in [1, 50, 101] {
        emu.call(Method::GET, &deployment_path("rg", &name(gone)), None)
            .await
            .expect_error(StatusCode::NOT_FOUND, "DeploymentNotFound");
    }
    for kept in [0, 102, 699, 700] {
        let reply = emu
            .call(Method::GET, &deployment_path("rg", &name(kept)), None)
            .await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{} kept: {reply:?}",
            name(kept)
        );
    }
    // A deleted deployment leaves the history too: 599, then 600 again
    // with no grooming.
    let deleted = emu
        .call(Method::DELETE, &deployment_path("rg", &name(300)), None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{deleted:?}");
    deploy(701).await;
    assert_eq!(settle().await, 600);
}
