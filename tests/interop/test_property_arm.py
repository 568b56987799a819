"""Property-based test of the control plane with schemathesis (pinned in
schemathesis-requirements.txt, its own virtualenv) and the 2025-03-31 spec:
requests generated from the spec, valid and mutated (bodies, query,
api-version, names), against an emulator that holds a group and a cluster
so that many of them reach real handlers. Every answer must be a 2xx or a
4xx with ARM's error body, never a 5xx, a reset or a hang, and the emulator
must serve normally afterwards. ARM_PROPERTY_EXAMPLES sets the examples per
operation (default 40; raise it for a long run)."""

import collections
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import urllib.request

import pytest

from conftest import ROOT, RunningEmulator

SPEC = ROOT / "schemas" / "spec" / "2025-03-31"
HSM = "Microsoft.HardwareSecurityModules/cloudHsmClusters"


def schemathesis_binary():
    return os.environ.get("SCHEMATHESIS", str(ROOT / ".tooling" / "schemathesis" / "bin" / "st"))


def spec_tree(root: pathlib.Path) -> pathlib.Path:
    """The spec and the common types it references, laid out at the relative
    paths its `$ref`s name (as in azure-rest-api-specs)."""
    spec = root / "specification" / "hsm" / "rm" / "Microsoft.HardwareSecurityModules" / "stable" / "2025-03-31" / "openapi.json"
    spec.parent.mkdir(parents=True)
    shutil.copy(SPEC / "openapi-2025-03-31.json", spec)
    common = root / "common-types" / "resource-management"
    for version in ("v5", "v6"):
        (common / version).mkdir(parents=True)
        shutil.copy(SPEC / "common-types-v6-types.json", common / version / "types.json")
    shutil.copy(SPEC / "common-types-managedidentity.json", common / "v6" / "managedidentity.json")
    shutil.copy(SPEC / "common-types-privatelinks.json", common / "v6" / "privatelinks.json")
    return spec


def token(emulator):
    import ssl
    import urllib.parse

    ep = emulator.endpoints
    data = urllib.parse.urlencode({
        "grant_type": "client_credentials", "client_id": ep["clientId"], "client_secret": ep["clientSecret"],
        "scope": "https://management.azure.com/.default"}).encode()
    context = ssl.create_default_context(cafile=ep["caCertificate"])
    with urllib.request.urlopen(f"{ep['authority']}{ep['tenantId']}/oauth2/v2.0/token", data=data, context=context) as r:
        return json.load(r)["access_token"]


def arm(emulator, bearer, method, path, body=None):
    import ssl

    request = urllib.request.Request(
        emulator.endpoints["resourceManager"].rstrip("/") + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"})
    context = ssl.create_default_context(cafile=emulator.endpoints["caCertificate"])
    with urllib.request.urlopen(request, context=context, timeout=30) as r:
        return r.status, json.loads(r.read() or b"null")


def test_generated_requests_never_get_a_server_error():
    if not pathlib.Path(schemathesis_binary()).exists():
        pytest.fail(f"schemathesis is not installed at {schemathesis_binary()} (tests/run.sh installs it)")
    emulator = RunningEmulator("--provisioning-delay", "100ms")
    work = tempfile.TemporaryDirectory()
    try:
        bearer = token(emulator)
        sub = emulator.endpoints["subscriptionId"]
        group = f"/subscriptions/{sub}/resourceGroups/rg-prop"
        arm(emulator, bearer, "PUT", f"{group}?api-version=2021-04-01", {"location": "eastus2"})
        arm(emulator, bearer, "PUT", f"{group}/providers/{HSM}/chsm-prop?api-version=2025-03-31",
            {"location": "eastus2", "sku": {"family": "B", "name": "Standard_B1"}})
        spec = spec_tree(pathlib.Path(work.name))
        counts = pathlib.Path(work.name) / "counts"
        # The well-known subscription, an existing group and the spec's
        # api-version, so that requests pass the existence checks and reach
        # the handlers with generated names, bodies and other parameters
        # (random api-versions and ids only ever meet the first checks).
        config = pathlib.Path(work.name) / "schemathesis.toml"
        config.write_text(
            "[parameters]\n"
            f'"path.subscriptionId" = "{sub}"\n'
            '"path.resourceGroupName" = "rg-prop"\n'
            '"query.api-version" = "2025-03-31"\n')
        examples = os.environ.get("ARM_PROPERTY_EXAMPLES", "40")
        result = subprocess.run(
            [schemathesis_binary(), "--config-file", str(config), "run", str(spec),
             "--url", emulator.endpoints["resourceManager"].rstrip("/"),
             "-H", f"Authorization: Bearer {bearer}", "--tls-verify", emulator.endpoints["caCertificate"],
             "--checks", "not_a_server_error,arm_error_body", "--max-examples", examples, "--seed", "20261202",
             "--workers", "2", "--no-color", "--request-timeout", "30", "--generation-database", "none",
             "--phases", "examples,fuzzing"],
            cwd=pathlib.Path(__file__).parent, capture_output=True, text=True, timeout=900,
            env={**os.environ, "SCHEMATHESIS_HOOKS": "property.arm_hooks", "PYTHONPATH": str(pathlib.Path(__file__).parent),
                 "ARM_PROPERTY_COUNTS": str(counts)})
        answered = collections.Counter(line[0] + "xx" for line in counts.read_text().split()) if counts.exists() else {}
        print(f"schemathesis: {sum(answered.values())} requests answered {dict(answered)}")
        assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
        assert answered.get("5xx", 0) == 0
        assert sum(answered.values()) >= 500, answered
        assert answered.get("2xx", 0) > 0 and answered.get("4xx", 0) > 0, answered
        # Still serving, and the cluster it started with is intact.
        assert emulator.process.poll() is None
        status, body = arm(emulator, bearer, "GET", f"{group}/providers/{HSM}/chsm-prop?api-version=2025-03-31")
        assert status == 200 and body["name"] == "chsm-prop"
    finally:
        emulator.stop()
        work.cleanup()
