//! `extension` declarations: the built-in `kubernetes` and `az` extensions, written as the
//! official compiler writes them without experimental features (languageVersion 2.0, an
//! `imports` block, resources naming their import, Kubernetes bodies under `properties`);
//! compared with its user_submitted/extensibility AKS sample, as our own small case.

mod support;

use serde_json::json;
use support::{compile, diagnostics};

#[test]
fn kubernetes_resources_are_written_under_their_import() {
    let template = compile(
        "@secure()\nparam kubeConfig string\n\
         extension kubernetes with {\n  kubeConfig: kubeConfig\n  namespace: 'default'\n}\n\
         var app = 'web'\n\
         @description('The web deployment')\n\
         resource web 'apps/Deployment@v1' = {\n  metadata: {\n    name: app\n  }\n  spec: {\n    replicas: 1\n  }\n}\n\
         resource svc 'core/Service@v1' = {\n  metadata: {\n    name: web.metadata.name\n  }\n}\n",
    );
    assert_eq!(template["languageVersion"], "2.0");
    assert_eq!(
        template["imports"],
        json!({"kubernetes": {"provider": "Kubernetes", "version": "1.0.0",
               "config": {"kubeConfig": "[parameters('kubeConfig')]", "namespace": "default"}}})
    );
    assert_eq!(
        template["resources"]["web"],
        json!({
            "import": "kubernetes",
            "type": "apps/Deployment@v1",
            "properties": {"metadata": {"name": "[variables('app')]"}, "spec": {"replicas": 1}},
            "metadata": {"description": "The web deployment"}
        })
    );
    assert_eq!(template["resources"]["svc"]["import"], "kubernetes");
    assert_eq!(template["resources"]["svc"]["type"], "core/Service@v1");
}

#[test]
fn an_alias_and_az_resources_name_their_import() {
    let template = compile(
        "extension az\nextension kubernetes with {\n  kubeConfig: 'x'\n} as k8s\n\
         resource st 'Microsoft.Storage/storageAccounts@2023-01-01' = {\n  name: 'st'\n  location: az.resourceGroup().location\n}\n\
         resource ns 'k8s:core/Namespace@v1' = {\n  metadata: {\n    name: 'n'\n  }\n}\n",
    );
    assert_eq!(
        template["imports"],
        json!({
            "az": {"provider": "AzureResourceManager", "version": "0.2.896"},
            "k8s": {"provider": "Kubernetes", "version": "1.0.0", "config": {"kubeConfig": "x"}}
        })
    );
    assert_eq!(
        template["resources"]["st"],
        json!({"import": "az", "type": "Microsoft.Storage/storageAccounts", "apiVersion": "2023-01-01",
               "name": "st", "location": "[resourceGroup().location]"})
    );
    assert_eq!(template["resources"]["ns"]["import"], "k8s");
    assert_eq!(template["resources"]["ns"]["type"], "core/Namespace@v1");
}

#[test]
fn misuse_is_reported_with_codes_and_positions() {
    for (text, code, position) in [
        ("extension nonsense\n", "BCP204", (1, 11)),
        ("extension kubernetes\n", "BCP206", (1, 11)),
        ("extension az with {}\n", "BCP205", (1, 19)),
        (
            "extension kubernetes with {\n  namespace: 'n'\n}\n",
            "BCP035",
            (1, 27),
        ),
        ("extension az\nextension az\n", "BCP028", (2, 11)),
        // A registry extension cannot be restored offline.
        (
            "extension 'br:mcr.microsoft.com/bicep/extensions/x:1.0.0'\n",
            "BCP192",
            (1, 11),
        ),
    ] {
        let found = diagnostics(text);
        assert!(
            found
                .iter()
                .any(|(line, column, c, _)| c == code && (*line, *column) == position),
            "{text}: {found:?}"
        );
    }
}
