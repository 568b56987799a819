//! The Event Hubs control plane (`Microsoft.EventHub`): namespaces, event
//! hubs, consumer groups, authorization rules and their keys, through the
//! real binary.

use base64::{engine::general_purpose::STANDARD, Engine};
use cloudhsm_e2e_tests::{eventhubs_path, group_path, namespace_id, Emulator, EVENTHUB_API, SUB};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn names(page: &Value) -> Vec<String> {
    page["value"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|v| v["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn namespaces_crud_lists_and_registration() {
    let emu = Emulator::start_with(&["--page-size", "2"]).await;
    emu.put_group("rg").await;
    let path = eventhubs_path("rg", "orders-ns", "");

    let created = emu
        .call(
            Method::PUT,
            &path,
            Some(json!({"location": "East US 2", "tags": {"team": "a"}, "sku": {"name": "Standard", "tier": "Standard", "capacity": 2}})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    let ns = &created.body;
    assert_eq!(ns["id"], namespace_id("rg", "orders-ns"));
    assert_eq!(ns["type"], "Microsoft.EventHub/Namespaces");
    assert_eq!(ns["location"], "East US 2");
    assert_eq!(
        ns["sku"],
        json!({"name": "Standard", "tier": "Standard", "capacity": 2})
    );
    let props = &ns["properties"];
    assert_eq!(props["provisioningState"], "Succeeded");
    assert_eq!(props["status"], "Active");
    assert_eq!(
        props["serviceBusEndpoint"],
        // The emulator's Event Hubs REST listener, which serves every namespace.
        format!("{}/", emu.endpoints.event_hubs_rest.as_deref().unwrap())
    );
    assert_eq!(props["kafkaEnabled"], true);
    assert_eq!(props["metricId"], format!("{SUB}:orders-ns"));
    assert!(props["createdAt"].is_string() && props["updatedAt"].is_string());

    // PUT again updates in place: 200, same creation time.
    let updated = emu
        .call(
            Method::PUT,
            &path,
            Some(
                json!({"location": "eastus2", "sku": {"name": "Standard"}, "tags": {"team": "b"}}),
            ),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{updated:?}");
    assert_eq!(updated.body["tags"], json!({"team": "b"}));
    assert_eq!(updated.body["sku"]["capacity"], 1);
    assert_eq!(updated.body["properties"]["createdAt"], props["createdAt"]);
    assert_eq!(
        emu.call(Method::GET, &path, None).await.body["tags"]["team"],
        "b"
    );

    // Every namespace has RootManageSharedAccessKey with all three rights.
    let root = emu
        .call(
            Method::GET,
            &eventhubs_path(
                "rg",
                "orders-ns",
                "/authorizationRules/RootManageSharedAccessKey",
            ),
            None,
        )
        .await;
    assert_eq!(root.status, StatusCode::OK, "{root:?}");
    assert_eq!(
        root.body["properties"]["rights"],
        json!(["Listen", "Send", "Manage"])
    );
    assert_eq!(
        root.body["type"],
        "Microsoft.EventHub/Namespaces/AuthorizationRules"
    );

    // Lists page at the group and the subscription; the generic list has them.
    emu.put_namespace("rg", "billing-ns", "Basic").await;
    emu.put_namespace("rg", "audit-ns1", "Premium").await;
    let group_list = format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.EventHub/namespaces?api-version={EVENTHUB_API}");
    let pages = emu.list_pages(&group_list).await;
    assert_eq!(pages.len(), 2, "{pages:?}");
    let all: Vec<String> = pages.iter().flat_map(names).collect();
    assert_eq!(all, ["audit-ns1", "billing-ns", "orders-ns"]);
    let sub_list = format!(
        "/subscriptions/{SUB}/providers/Microsoft.EventHub/namespaces?api-version={EVENTHUB_API}"
    );
    assert_eq!(
        emu.list_pages(&sub_list)
            .await
            .iter()
            .flat_map(names)
            .count(),
        3
    );
    let generic = emu
        .call(Method::GET, &format!("/subscriptions/{SUB}/resources?api-version=2021-04-01&$filter=resourceType eq 'Microsoft.EventHub/namespaces'"), None)
        .await;
    assert_eq!(generic.status, StatusCode::OK, "{generic:?}");
    assert_eq!(
        generic.body["value"].as_array().map(Vec::len),
        Some(2),
        "page of two: {generic:?}"
    );
    assert_eq!(generic.body["value"][0]["sku"]["name"], "Premium");

    // The provider is registered with the versions the routes accept.
    let provider = emu
        .call(
            Method::GET,
            &format!("/subscriptions/{SUB}/providers/Microsoft.EventHub?api-version=2021-04-01"),
            None,
        )
        .await;
    assert_eq!(provider.status, StatusCode::OK, "{provider:?}");
    let types = provider.body["resourceTypes"].as_array().unwrap();
    let namespaces = types
        .iter()
        .find(|t| t["resourceType"] == "namespaces")
        .unwrap();
    assert_eq!(namespaces["apiVersions"][0], "2026-07-01-preview");
    assert_eq!(namespaces["defaultApiVersion"], "2026-01-01");
    for t in [
        "namespaces/eventhubs",
        "namespaces/eventhubs/consumergroups",
        "namespaces/authorizationRules",
        "namespaces/eventhubs/authorizationRules",
    ] {
        assert!(types.iter().any(|x| x["resourceType"] == t), "{t}");
    }

    // Deleting: 200, then 204; the resource is gone.
    let gone = eventhubs_path("rg", "billing-ns", "");
    assert_eq!(
        emu.call(Method::DELETE, &gone, None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        emu.call(Method::DELETE, &gone, None).await.status,
        StatusCode::NO_CONTENT
    );
    emu.call(Method::GET, &gone, None)
        .await
        .expect_error(StatusCode::NOT_FOUND, "ResourceNotFound");
}

#[tokio::test]
async fn namespace_refusals() {
    let emu = Emulator::start().await;
    emu.put_group("rg").await;
    emu.put_group("rg2").await;
    let put = |name: &str, body: Value| {
        let path = eventhubs_path("rg", name, "");
        let emu = &emu;
        async move { emu.call(Method::PUT, &path, Some(body)).await }
    };
    let body = json!({"location": "eastus2", "sku": {"name": "Standard"}});
    for bad in [
        "short",
        "1starts-with-digit",
        "ends-with-",
        "under_score",
        "orders-sb",
    ] {
        put(bad, body.clone())
            .await
            .expect_error(StatusCode::BAD_REQUEST, "InvalidResourceName");
    }
    let error = put(
        "good-ns",
        json!({"location": "eastus2", "sku": {"name": "Dedicated"}}),
    )
    .await;
    assert_eq!(
        error.expect_error(StatusCode::BAD_REQUEST, "InvalidRequestContent")["target"],
        "sku.name"
    );
    put("good-ns", json!({"sku": {"name": "Standard"}}))
        .await
        .expect_error(StatusCode::BAD_REQUEST, "InvalidRequestContent");
    put(
        "good-ns",
        json!({"location": "eastus2", "sku": {"name": "Premium", "capacity": 17}}),
    )
    .await
    .expect_error(StatusCode::BAD_REQUEST, "BadRequest");
    put("good-ns", json!({"location": "moon"}))
        .await
        .expect_error(
            StatusCode::BAD_REQUEST,
            "LocationNotAvailableForResourceType",
        );
    emu.call(
        Method::GET,
        &format!("{}&x=1", eventhubs_path("rg", "good-ns", "")).replace(EVENTHUB_API, "2015-01-01"),
        None,
    )
    .await
    .expect_error(StatusCode::BAD_REQUEST, "NoRegisteredProviderFound");
    emu.call(
        Method::PUT,
        &eventhubs_path("nogroup", "good-ns", ""),
        Some(body.clone()),
    )
    .await
    .expect_error(StatusCode::NOT_FOUND, "ResourceGroupNotFound");

    // Names are global (they are DNS names); Premium and the rest do not convert.
    assert_eq!(
        put("good-ns", body.clone()).await.status,
        StatusCode::CREATED
    );
    emu.call(
        Method::PUT,
        &eventhubs_path("rg2", "GOOD-ns", ""),
        Some(body.clone()),
    )
    .await
    .expect_error(StatusCode::CONFLICT, "NamespaceNameInUse");
    put(
        "good-ns",
        json!({"location": "eastus2", "sku": {"name": "Premium"}}),
    )
    .await
    .expect_error(StatusCode::BAD_REQUEST, "BadRequest");
    put(
        "good-ns",
        json!({"location": "westus", "sku": {"name": "Standard"}}),
    )
    .await
    .expect_error(StatusCode::BAD_REQUEST, "InvalidResourceLocation");
}

#[tokio::test]
async fn event_hubs_and_consumer_groups() {
    let emu = Emulator::start().await;
    emu.put_group("rg").await;
    emu.put_namespace("rg", "basic-ns", "Basic").await;
    emu.put_namespace("rg", "standard-ns", "Standard").await;
    let hub = |ns: &str, name: &str| eventhubs_path("rg", ns, &format!("/eventhubs/{name}"));

    // Defaults: four partitions, the tier's retention, Active, $Default.
    let created = emu
        .call(Method::PUT, &hub("basic-ns", "telemetry"), Some(json!({})))
        .await;
    assert_eq!(created.status, StatusCode::OK, "{created:?}");
    let props = &created.body["properties"];
    assert_eq!(
        created.body["type"],
        "Microsoft.EventHub/Namespaces/EventHubs"
    );
    assert_eq!(
        created.body["id"],
        format!("{}/eventhubs/telemetry", namespace_id("rg", "basic-ns"))
    );
    assert_eq!(props["partitionCount"], 4);
    assert_eq!(props["partitionIds"], json!(["0", "1", "2", "3"]));
    assert_eq!(props["messageRetentionInDays"], 1);
    assert_eq!(
        props["retentionDescription"],
        json!({"cleanupPolicy": "Delete", "retentionTimeInHours": 24})
    );
    assert_eq!(props["status"], "Active");

    // The tier's limits.
    for (ns, body) in [
        (
            "basic-ns",
            json!({"properties": {"messageRetentionInDays": 2}}),
        ),
        (
            "standard-ns",
            json!({"properties": {"messageRetentionInDays": 8}}),
        ),
        ("standard-ns", json!({"properties": {"partitionCount": 33}})),
        (
            "standard-ns",
            json!({"properties": {"retentionDescription": {"retentionTimeInHours": 169}}}),
        ),
    ] {
        emu.call(Method::PUT, &hub(ns, "too-much"), Some(body))
            .await
            .expect_error(StatusCode::BAD_REQUEST, "BadRequest");
    }
    emu.call(
        Method::PUT,
        &hub("standard-ns", "bad"),
        Some(json!({"properties": {"partitionCount": 0}})),
    )
    .await
    .expect_error(StatusCode::BAD_REQUEST, "InvalidRequestContent");
    emu.call(Method::PUT, &hub("standard-ns", "-bad"), Some(json!({})))
        .await
        .expect_error(StatusCode::BAD_REQUEST, "InvalidResourceName");

    let orders = emu
        .call(
            Method::PUT,
            &hub("standard-ns", "orders"),
            Some(json!({"properties": {"partitionCount": 32, "messageRetentionInDays": 7}})),
        )
        .await;
    assert_eq!(orders.status, StatusCode::OK, "{orders:?}");
    assert_eq!(
        orders.body["properties"]["retentionDescription"]["retentionTimeInHours"],
        168
    );
    assert_eq!(
        orders.body["properties"]["partitionIds"]
            .as_array()
            .map(Vec::len),
        Some(32)
    );
    // A Standard hub's partition count is fixed; retention can change.
    emu.call(
        Method::PUT,
        &hub("standard-ns", "orders"),
        Some(json!({"properties": {"partitionCount": 16}})),
    )
    .await
    .expect_error(StatusCode::BAD_REQUEST, "BadRequest");
    let shorter = emu
        .call(Method::PUT, &hub("standard-ns", "orders"), Some(json!({"properties": {"retentionDescription": {"cleanupPolicy": "Delete", "retentionTimeInHours": 36}}})))
        .await;
    assert_eq!(
        shorter.body["properties"]["messageRetentionInDays"], 2,
        "{shorter:?}"
    );
    assert_eq!(shorter.body["properties"]["partitionCount"], 32);
    let hubs = emu
        .call(
            Method::GET,
            &eventhubs_path("rg", "standard-ns", "/eventhubs"),
            None,
        )
        .await;
    assert_eq!(names(&hubs.body), ["orders"]);

    // Consumer groups: $Default is there and stays.
    let groups =
        |ns: &str, h: &str| eventhubs_path("rg", ns, &format!("/eventhubs/{h}/consumergroups"));
    let group = |name: &str| {
        eventhubs_path(
            "rg",
            "standard-ns",
            &format!("/eventhubs/orders/consumergroups/{name}"),
        )
    };
    let default = emu.call(Method::GET, &group("$Default"), None).await;
    assert_eq!(default.status, StatusCode::OK, "{default:?}");
    assert_eq!(
        default.body["type"],
        "Microsoft.EventHub/Namespaces/EventHubs/ConsumerGroups"
    );
    let cg = emu
        .call(
            Method::PUT,
            &group("analytics"),
            Some(json!({"properties": {"userMetadata": "team a"}})),
        )
        .await;
    assert_eq!(cg.status, StatusCode::OK, "{cg:?}");
    assert_eq!(cg.body["properties"]["userMetadata"], "team a");
    assert_eq!(
        names(
            &emu.call(Method::GET, &groups("standard-ns", "orders"), None)
                .await
                .body
        ),
        ["$Default", "analytics"]
    );
    emu.call(Method::PUT, &group(&"c".repeat(51)), Some(json!({})))
        .await
        .expect_error(StatusCode::BAD_REQUEST, "InvalidResourceName");
    emu.call(Method::DELETE, &group("$Default"), None)
        .await
        .expect_error(StatusCode::BAD_REQUEST, "BadRequest");
    assert_eq!(
        emu.call(Method::DELETE, &group("analytics"), None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        emu.call(Method::DELETE, &group("analytics"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    emu.call(Method::GET, &group("analytics"), None)
        .await
        .expect_error(StatusCode::NOT_FOUND, "ResourceNotFound");

    // Parents: a missing hub or namespace is ParentResourceNotFound.
    emu.call(Method::GET, &groups("standard-ns", "nohub"), None)
        .await
        .expect_error(StatusCode::NOT_FOUND, "ParentResourceNotFound");
    emu.call(Method::PUT, &hub("no-such-ns", "orders"), Some(json!({})))
        .await
        .expect_error(StatusCode::NOT_FOUND, "ParentResourceNotFound");
    emu.call(Method::GET, &hub("standard-ns", "nohub"), None)
        .await
        .expect_error(StatusCode::NOT_FOUND, "ResourceNotFound");

    // Deleting a hub deletes its groups; recreating it starts afresh.
    assert_eq!(
        emu.call(Method::DELETE, &hub("basic-ns", "telemetry"), None)
            .await
            .status,
        StatusCode::OK
    );
    emu.call(Method::GET, &groups("basic-ns", "telemetry"), None)
        .await
        .expect_error(StatusCode::NOT_FOUND, "ParentResourceNotFound");
}

fn decoded_len(key: &Value) -> usize {
    STANDARD.decode(key.as_str().unwrap()).unwrap().len()
}

#[tokio::test]
async fn authorization_rules_keys_and_cascades() {
    let emu = Emulator::start().await;
    emu.put_group("rg").await;
    emu.put_namespace("rg", "keys-ns", "Standard").await;
    emu.call(
        Method::PUT,
        &eventhubs_path("rg", "keys-ns", "/eventhubs/orders"),
        Some(json!({})),
    )
    .await;
    let ns_rule =
        |rest: &str| eventhubs_path("rg", "keys-ns", &format!("/authorizationRules/{rest}"));
    let hub_rule = |rest: &str| {
        eventhubs_path(
            "rg",
            "keys-ns",
            &format!("/eventhubs/orders/authorizationRules/{rest}"),
        )
    };

    // Manage needs Listen and Send; rights must be known.
    for rights in [
        json!(["Manage"]),
        json!(["Manage", "Listen"]),
        json!(["Read"]),
        json!([]),
    ] {
        emu.call(
            Method::PUT,
            &ns_rule("bad"),
            Some(json!({"properties": {"rights": rights}})),
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST, "BadRequest");
    }
    let rule = emu
        .call(
            Method::PUT,
            &ns_rule("sender"),
            Some(json!({"properties": {"rights": ["Send"]}})),
        )
        .await;
    assert_eq!(rule.status, StatusCode::OK, "{rule:?}");
    assert_eq!(rule.body["properties"]["rights"], json!(["Send"]));

    let keys = emu
        .call(Method::POST, &ns_rule("sender/listKeys"), None)
        .await;
    assert_eq!(keys.status, StatusCode::OK, "{keys:?}");
    let k = &keys.body;
    assert_eq!(k["keyName"], "sender");
    assert_eq!(decoded_len(&k["primaryKey"]), 32);
    assert_eq!(decoded_len(&k["secondaryKey"]), 32);
    assert_ne!(k["primaryKey"], k["secondaryKey"]);
    assert_eq!(
        k["primaryConnectionString"],
        format!(
            "Endpoint={};SharedAccessKeyName=sender;SharedAccessKey={}",
            emu.endpoints.event_hubs_amqp.as_deref().unwrap(),
            k["primaryKey"].as_str().unwrap()
        )
    );

    // Changing the rights keeps the keys; regenerating replaces one key.
    let widened = emu
        .call(
            Method::PUT,
            &ns_rule("sender"),
            Some(json!({"properties": {"rights": ["Send", "Listen", "Manage"]}})),
        )
        .await;
    assert_eq!(
        widened.body["properties"]["rights"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    assert_eq!(
        emu.call(Method::POST, &ns_rule("sender/listKeys"), None)
            .await
            .body["primaryKey"],
        k["primaryKey"]
    );
    let renewed = emu
        .call(
            Method::POST,
            &ns_rule("sender/regenerateKeys"),
            Some(json!({"keyType": "PrimaryKey"})),
        )
        .await;
    assert_eq!(renewed.status, StatusCode::OK, "{renewed:?}");
    assert_ne!(renewed.body["primaryKey"], k["primaryKey"]);
    assert_eq!(renewed.body["secondaryKey"], k["secondaryKey"]);
    let chosen = STANDARD.encode([7u8; 32]);
    let supplied = emu
        .call(
            Method::POST,
            &ns_rule("sender/regenerateKeys"),
            Some(json!({"keyType": "SecondaryKey", "key": chosen})),
        )
        .await;
    assert_eq!(supplied.body["secondaryKey"], chosen.as_str());
    emu.call(
        Method::POST,
        &ns_rule("sender/regenerateKeys"),
        Some(json!({"keyType": "SecondaryKey", "key": "c2hvcnQ="})),
    )
    .await
    .expect_error(StatusCode::BAD_REQUEST, "BadRequest");
    emu.call(
        Method::POST,
        &ns_rule("sender/regenerateKeys"),
        Some(json!({"keyType": "TertiaryKey"})),
    )
    .await
    .expect_error(StatusCode::BAD_REQUEST, "InvalidRequestContent");
    emu.call(Method::POST, &ns_rule("nobody/listKeys"), None)
        .await
        .expect_error(StatusCode::NOT_FOUND, "ResourceNotFound");

    // A hub's rule: its connection string names the hub.
    let hub_created = emu
        .call(
            Method::PUT,
            &hub_rule("listener"),
            Some(json!({"properties": {"rights": ["Listen"]}})),
        )
        .await;
    assert_eq!(
        hub_created.body["type"], "Microsoft.EventHub/Namespaces/EventHubs/AuthorizationRules",
        "{hub_created:?}"
    );
    let hub_keys = emu
        .call(Method::POST, &hub_rule("listener/listKeys"), None)
        .await
        .body;
    assert!(hub_keys["primaryConnectionString"]
        .as_str()
        .unwrap()
        .starts_with(&format!(
            "Endpoint={};SharedAccessKeyName=listener;SharedAccessKey=",
            emu.endpoints.event_hubs_amqp.as_deref().unwrap()
        )));
    assert!(
        hub_keys["secondaryConnectionString"]
            .as_str()
            .unwrap()
            .ends_with(";EntityPath=orders"),
        "{hub_keys}"
    );
    let rules = emu
        .call(
            Method::GET,
            &eventhubs_path("rg", "keys-ns", "/authorizationRules"),
            None,
        )
        .await;
    assert_eq!(names(&rules.body), ["RootManageSharedAccessKey", "sender"]);
    let hub_rules = emu
        .call(
            Method::GET,
            &eventhubs_path("rg", "keys-ns", "/eventhubs/orders/authorizationRules"),
            None,
        )
        .await;
    assert_eq!(names(&hub_rules.body), ["listener"]);

    // Keys are kept: the same after a restart (the connection strings name
    // the restarted emulator's Event Hubs port, a new one here).
    let emu = emu.restart().await;
    let after_restart = emu
        .call(Method::POST, &hub_rule("listener/listKeys"), None)
        .await
        .body;
    for field in ["keyName", "primaryKey", "secondaryKey"] {
        assert_eq!(after_restart[field], hub_keys[field], "{field}");
    }
    assert_eq!(
        emu.call(Method::POST, &ns_rule("sender/listKeys"), None)
            .await
            .body["secondaryKey"],
        chosen.as_str()
    );

    // Deleting a rule; then the namespace takes its hubs, groups and rules.
    assert_eq!(
        emu.call(Method::DELETE, &hub_rule("listener"), None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        emu.call(Method::DELETE, &hub_rule("listener"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        emu.call(Method::DELETE, &eventhubs_path("rg", "keys-ns", ""), None)
            .await
            .status,
        StatusCode::OK
    );
    emu.call(
        Method::GET,
        &eventhubs_path("rg", "keys-ns", "/eventhubs"),
        None,
    )
    .await
    .expect_error(StatusCode::NOT_FOUND, "ParentResourceNotFound");
    emu.put_namespace("rg", "keys-ns", "Standard").await;
    assert_eq!(
        names(
            &emu.call(
                Method::GET,
                &eventhubs_path("rg", "keys-ns", "/eventhubs"),
                None
            )
            .await
            .body
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        names(
            &emu.call(
                Method::GET,
                &eventhubs_path("rg", "keys-ns", "/authorizationRules"),
                None
            )
            .await
            .body
        ),
        ["RootManageSharedAccessKey"]
    );

    // A group's deletion takes its namespaces.
    emu.call(
        Method::PUT,
        &eventhubs_path("rg", "keys-ns", "/eventhubs/orders"),
        Some(json!({})),
    )
    .await;
    let deleted = emu.call(Method::DELETE, &group_path("rg"), None).await;
    emu.wait_location(&deleted.header("location").unwrap())
        .await;
    let all = emu
        .call(Method::GET, &format!("/subscriptions/{SUB}/providers/Microsoft.EventHub/namespaces?api-version={EVENTHUB_API}"), None)
        .await;
    assert_eq!(names(&all.body), Vec::<String>::new());
    emu.put_group("rg").await;
    emu.put_namespace("rg", "keys-ns", "Standard").await;
    emu.call(
        Method::GET,
        &eventhubs_path("rg", "keys-ns", "/eventhubs/orders"),
        None,
    )
    .await
    .expect_error(StatusCode::NOT_FOUND, "ResourceNotFound");
}
