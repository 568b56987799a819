//! ARM's generic resource lists (`/subscriptions/{id}/resources`,
//! `.../resourceGroups/{rg}/resources`) over clusters, identities and
//! private endpoints, as `az resource list` calls them: filters, tags,
//! `$top`, `$expand` and paging with a small page size.

use cloudhsm_e2e_tests::{
    endpoint_body, endpoint_path, identity_path, Emulator, Reply, RG_API, SUB,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// rg1: cluster `chsm1` (tag Dept=hsm), identity `id-app` (no tags),
/// private endpoint `pe1` to the cluster (tag owner=net); rg2: identity
/// `other-id` (tags Dept=finance, env=prod). Pages hold two items.
async fn setup() -> Emulator {
    let emu = Emulator::start_with(&["--provisioning-delay", "100ms", "--page-size", "2"]).await;
    emu.put_group("rg1").await;
    emu.put_group("rg2").await;
    let cluster = emu.create_cluster("rg1", "chsm1").await;
    emu.put_identity("rg1", "id-app").await;
    let mut endpoint = endpoint_body(
        cluster["id"].as_str().expect("cluster id"),
        false,
        json!(["cloudHsm"]),
    );
    endpoint["tags"] = json!({"owner": "net"});
    let created = emu
        .call(Method::PUT, &endpoint_path("rg1", "pe1"), Some(endpoint))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    let identity = emu
        .call(
            Method::PUT,
            &identity_path("rg2", "other-id"),
            Some(json!({"location": "eastus2", "tags": {"Dept": "finance", "env": "prod"}})),
        )
        .await;
    assert!(identity.status.is_success(), "{identity:?}");
    emu
}

fn subscription_scope() -> String {
    format!("/subscriptions/{SUB}/resources")
}

fn group_scope(group: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{group}/resources")
}

/// The URL of a generic list at `scope` with extra query parameters.
fn list_url(emu: &Emulator, scope: &str, params: &[(&str, &str)]) -> String {
    let mut url = reqwest::Url::parse(&emu.url(scope)).expect("URL");
    url.query_pairs_mut().append_pair("api-version", RG_API);
    for (name, value) in params {
        url.query_pairs_mut().append_pair(name, value);
    }
    url.to_string()
}

/// Every item of every page.
async fn items(emu: &Emulator, scope: &str, params: &[(&str, &str)]) -> Vec<Value> {
    emu.list_pages(&list_url(emu, scope, params))
        .await
        .into_iter()
        .flat_map(|page| page["value"].as_array().cloned().unwrap_or_default())
        .collect()
}

async fn names(emu: &Emulator, scope: &str, filter: &str) -> Vec<String> {
    items(emu, scope, &[("$filter", filter)])
        .await
        .iter()
        .map(|item| item["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn get(emu: &Emulator, scope: &str, params: &[(&str, &str)]) -> Reply {
    emu.call(Method::GET, &list_url(emu, scope, params), None)
        .await
}

#[tokio::test]
async fn every_tracked_resource_is_listed_in_the_generic_shape_at_both_scopes() {
    let emu = setup().await;

    let pages = emu
        .list_pages(&list_url(&emu, &subscription_scope(), &[]))
        .await;
    assert_eq!(pages.len(), 2, "two items a page: {pages:?}");
    let link = pages[0]["nextLink"].as_str().expect("nextLink");
    assert!(
        link.contains("$skiptoken=") && link.contains(&format!("api-version={RG_API}")),
        "{link}"
    );
    let all = items(&emu, &subscription_scope(), &[]).await;
    let listed: Vec<(&str, &str)> = all
        .iter()
        .map(|i| (i["name"].as_str().unwrap(), i["type"].as_str().unwrap()))
        .collect();
    // Storage-key order; the cluster's private endpoint connection (a proxy
    // resource) is not listed.
    assert_eq!(
        listed,
        [
            (
                "chsm1",
                "Microsoft.HardwareSecurityModules/cloudHsmClusters"
            ),
            ("id-app", "Microsoft.ManagedIdentity/userAssignedIdentities"),
            ("pe1", "Microsoft.Network/privateEndpoints"),
            (
                "other-id",
                "Microsoft.ManagedIdentity/userAssignedIdentities"
            ),
        ]
    );

    let cluster = &all[0];
    assert_eq!(
        cluster["id"],
        format!("/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters/chsm1")
    );
    assert_eq!(cluster["location"], "eastus2");
    assert_eq!(cluster["tags"], json!({"Dept": "hsm"}));
    assert_eq!(
        cluster["sku"],
        json!({"family": "B", "name": "Standard_B1"})
    );
    for absent in [
        "properties",
        "createdTime",
        "changedTime",
        "provisioningState",
        "systemData",
    ] {
        assert!(cluster.get(absent).is_none(), "{absent}: {cluster}");
    }
    // Tags only when the resource has some.
    assert!(all[1].get("tags").is_none(), "{}", all[1]);
    assert_eq!(all[2]["tags"], json!({"owner": "net"}));

    let in_rg1: Vec<Value> = items(&emu, &group_scope("rg1"), &[]).await;
    let in_rg1: Vec<&str> = in_rg1.iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(in_rg1, ["chsm1", "id-app", "pe1"]);
    // ARM's keywords and names are case-insensitive.
    assert_eq!(
        names(
            &emu,
            &format!("/SUBSCRIPTIONS/{SUB}/resourcegroups/RG2/Resources"),
            ""
        )
        .await,
        ["other-id"]
    );

    get(&emu, &group_scope("nope"), &[])
        .await
        .expect_error(StatusCode::NOT_FOUND, "ResourceGroupNotFound");
    let old = emu
        .call(
            Method::GET,
            &format!("{}?api-version=2001-01-01", subscription_scope()),
            None,
        )
        .await;
    old.expect_error(StatusCode::BAD_REQUEST, "NoRegisteredProviderFound");
}

#[tokio::test]
async fn property_filters_match_case_insensitively_and_combine() {
    let emu = setup().await;
    let sub = subscription_scope();
    let cases: &[(&str, &[&str])] = &[
        (
            "resourceType eq 'microsoft.managedidentity/USERASSIGNEDIDENTITIES'",
            &["id-app", "other-id"],
        ),
        ("name eq 'CHSM1'", &["chsm1"]),
        ("name ne 'chsm1'", &["id-app", "pe1", "other-id"]),
        ("substringof('ID', name)", &["id-app", "other-id"]),
        ("substringof('g2', resourceGroup)", &["other-id"]),
        ("location eq 'East US 2'", &["chsm1", "id-app", "pe1", "other-id"]),
        ("location eq 'westus'", &[]),
        ("resourceGroup eq 'RG2'", &["other-id"]),
        (
            "resourceType eq 'Microsoft.Network/privateEndpoints' and resourceGroup eq 'rg1'",
            &["pe1"],
        ),
        (
            "substringof('chsm', name) or substringof('pe', name)",
            &["chsm1", "pe1"],
        ),
        (
            "resourceType eq 'Microsoft.ManagedIdentity/userAssignedIdentities' and substringof('app', name)",
            &["id-app"],
        ),
    ];
    for (filter, expected) in cases {
        assert_eq!(names(&emu, &sub, filter).await, *expected, "{filter}");
    }
    assert_eq!(
        names(&emu, &group_scope("rg1"), "name ne 'chsm1'").await,
        ["id-app", "pe1"]
    );
}

#[tokio::test]
async fn tag_filters_stand_alone_and_malformed_filters_are_refused() {
    let emu = setup().await;
    let sub = subscription_scope();
    assert_eq!(
        names(&emu, &sub, "tagName eq 'dept'").await,
        ["chsm1", "other-id"]
    );
    assert_eq!(
        names(&emu, &sub, "startswith(tagName, 'EN')").await,
        ["other-id"]
    );
    // Tag values compare exactly, and a name-and-value filter leaves tags out.
    let by_value = items(
        &emu,
        &sub,
        &[("$filter", "tagName eq 'Dept' and tagValue eq 'finance'")],
    )
    .await;
    assert_eq!(by_value.len(), 1, "{by_value:?}");
    assert_eq!(by_value[0]["name"], "other-id");
    assert!(by_value[0].get("tags").is_none(), "{}", by_value[0]);
    assert!(
        names(&emu, &sub, "tagName eq 'Dept' and tagValue eq 'FINANCE'")
            .await
            .is_empty()
    );
    // A tag-name filter keeps them.
    let by_name = items(&emu, &sub, &[("$filter", "tagName eq 'env'")]).await;
    assert_eq!(by_name[0]["tags"]["env"], "prod");

    for combined in [
        "tagName eq 'Dept' and resourceType eq 'Microsoft.HardwareSecurityModules/cloudHsmClusters'",
        "resourceGroup eq 'rg1' and tagName eq 'Dept' and tagValue eq 'hsm'",
    ] {
        let reply = get(&emu, &sub, &[("$filter", combined)]).await;
        let error = reply.expect_error(StatusCode::BAD_REQUEST, "InvalidFilterInQueryString");
        let message = error["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("Invalid $filter '{combined}' specified in the query string."))
                && message.contains("cannot be combined"),
            "{message}"
        );
    }
    for malformed in [
        "name eq chsm1",
        "name eq 'chsm1",
        "sku eq 'B'",
        "name gt 'a'",
    ] {
        get(&emu, &group_scope("rg1"), &[("$filter", malformed)])
            .await
            .expect_error(StatusCode::BAD_REQUEST, "InvalidFilterInQueryString");
    }
}

#[tokio::test]
async fn top_pages_and_next_links_keep_the_query() {
    let emu = setup().await;
    let sub = subscription_scope();

    let pages = emu
        .list_pages(&list_url(&emu, &sub, &[("$top", "3")]))
        .await;
    let sizes: Vec<usize> = pages
        .iter()
        .map(|p| p["value"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [3, 1]);
    assert!(pages[0]["nextLink"].as_str().unwrap().contains("$top=3"));
    assert_eq!(items(&emu, &sub, &[("$top", "1000")]).await.len(), 4);
    for bad in ["0", "1001", "ten"] {
        get(&emu, &sub, &[("$top", bad)])
            .await
            .expect_error(StatusCode::BAD_REQUEST, "InvalidTopInQueryString");
    }

    // Page 2 of an unfiltered list would hold pe1 and other-id: the filter
    // travels in the nextLink, so other-id stays out.
    let filtered = emu
        .list_pages(&list_url(&emu, &sub, &[("$filter", "name ne 'other-id'")]))
        .await;
    assert_eq!(filtered.len(), 2);
    assert!(
        filtered[0]["nextLink"]
            .as_str()
            .unwrap()
            .contains("$filter="),
        "{}",
        filtered[0]
    );
    assert_eq!(
        names(&emu, &sub, "name ne 'other-id'").await,
        ["chsm1", "id-app", "pe1"]
    );
    get(&emu, &sub, &[("$skiptoken", "not base64!")])
        .await
        .expect_error(StatusCode::BAD_REQUEST, "InvalidSkipToken");
}

#[tokio::test]
async fn expand_adds_created_and_changed_times_and_provisioning_state() {
    let emu = setup().await;
    let expanded = items(
        &emu,
        &subscription_scope(),
        &[("$expand", "createdTime,changedTime,provisioningState")],
    )
    .await;
    assert_eq!(expanded.len(), 4, "the expansion travels in nextLinks too");
    for item in &expanded {
        assert_eq!(item["provisioningState"], "Succeeded", "{item}");
        for time in ["createdTime", "changedTime"] {
            let at = item[time].as_str().unwrap_or_default();
            assert!(at.starts_with("20") && at.ends_with('Z'), "{time}: {item}");
        }
        assert!(item.get("properties").is_none(), "{item}");
    }
    let created_only = items(&emu, &group_scope("rg2"), &[("$expand", "createdTime")]).await;
    assert!(created_only[0].get("createdTime").is_some());
    assert!(created_only[0].get("changedTime").is_none());
    assert!(created_only[0].get("provisioningState").is_none());
}
