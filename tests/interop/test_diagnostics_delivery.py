"""The HSM operation log delivered to a storage account, driven as a user
would: `az eventhubs` makes the namespace, hub and rule, `az monitor
diagnostic-settings create` points the cluster at Azurite's account and at
the hub, the owner activates the cluster and a crypto user generates a key
and signs through `az-cloudhsm util`, and the records are read back from
Azurite with azure-storage-blob and from the hub with an azure-eventhub
consumer (the rule's connection string plus `;UseDevelopmentEmulator=true`)."""

import json
import pathlib
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import Az, RunningEmulator, register_emulator_cloud, save_config_and_activate, util
from test_backup_restore import azurite_binary
from test_event_hubs_data_plane import collect

HSM_TYPE = "Microsoft.HardwareSecurityModules/cloudHsmClusters"
ACCOUNT = "devstoreaccount1"
# Azurite's well-known development key (public, documented by Microsoft).
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
CU_PASSWORD = "cu-secret-4321"
LABEL = "invoice-signer"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def setup():
    """An emulator whose storage accounts are an HTTPS Azurite on `port`
    (started once the emulator's CA exists), and az logged in to it."""
    port = free_port()
    emulator = RunningEmulator("--provisioning-delay", "300ms",
                               "--storage-blob-endpoint", f"https://127.0.0.1:{port}/{{account}}")
    tls = pathlib.Path(emulator.endpoints["caCertificate"]).parent
    work = tempfile.TemporaryDirectory()
    cert, key = pathlib.Path(work.name) / "cert.pem", pathlib.Path(work.name) / "key.pem"
    cert.write_bytes((tls / "server.pem").read_bytes())
    key.write_bytes((tls / "server.key").read_bytes())
    azurite = subprocess.Popen(
        [azurite_binary(), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location", work.name,
         "--disableTelemetry", "--silent", "--oauth", "basic", "--cert", str(cert), "--key", str(key)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.time() > deadline:
                raise RuntimeError("Azurite did not start")
            time.sleep(0.05)
    home = tempfile.TemporaryDirectory()
    az = Az(emulator, home.name)
    ep = emulator.endpoints
    register_emulator_cloud(az, "CloudHsmEmulator", ep["resourceManager"])
    az("login", "--service-principal", "-u", ep["clientId"], "-p", ep["clientSecret"], "--tenant", ep["tenantId"])
    yield emulator, az, port, work
    azurite.terminate()
    azurite.wait(timeout=15)
    emulator.stop()
    work.cleanup()
    home.cleanup()


def activate_with_crypto_user(emulator, group, cluster, workdir):
    """saveConfig and activation (conftest), an officer who creates crypto
    user cu1, and cu1's RSA key pair labelled LABEL; writes message.txt to
    sign. Returns (config path, private key handle)."""
    config = save_config_and_activate(emulator, group, cluster, workdir, "officer-pass-1")
    util(config, workdir, "loginHSM", "-u", "CO", "-s", "admin", "-p", "officer-pass-1", "createUser", "CU", "cu1", CU_PASSWORD)
    (workdir / "message.txt").write_text("invoice 42")
    generated = util(config, workdir, "genRSAKeyPair", "-m", "2048", "-e", "65537", "-l", LABEL, user=f"cu1:{CU_PASSWORD}")
    return config, generated.split("private key handle:")[1].split()[0]


def records_in_azurite(port, ca):
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient(f"https://127.0.0.1:{port}/{ACCOUNT}",
                                credential={"account_name": ACCOUNT, "account_key": ACCOUNT_KEY},
                                connection_verify=ca,
                                # The newest version Azurite 3.35 knows (as the emulator pins).
                                api_version="2025-11-05")
    container = service.get_container_client("insights-logs-hsmserviceoperations")
    if not container.exists():
        return [], []
    names = sorted(b.name for b in container.list_blobs())
    seen, records = set(), []
    for name in names:
        for line in container.download_blob(name).readall().decode().splitlines():
            record = json.loads(line)
            if record["correlationId"] not in seen:
                seen.add(record["correlationId"])
                records.append(record)
    return names, records


def test_storage_destination_gets_the_crypto_users_operations(setup):
    emulator, az, port, work = setup
    group, ns = "rg-diag-delivery", "logs-ns-delivery"
    az("group", "create", "-n", group, "-l", "eastus2")
    cluster = az("resource", "create", "-g", group, "-n", "chsm-logs", "--resource-type", HSM_TYPE,
                 "--is-full-object", "-p", json.dumps({"location": "eastus2", "sku": {"family": "B", "name": "Standard_B1"}}))
    resource = cluster["id"]
    az("eventhubs", "namespace", "create", "-g", group, "-n", ns, "-l", "eastus2", "--sku", "Standard")
    az("eventhubs", "eventhub", "create", "-g", group, "--namespace-name", ns, "-n", "hsm-logs", "--partition-count", "1")
    rule = az("eventhubs", "namespace", "authorization-rule", "create", "-g", group, "--namespace-name", ns,
              "-n", "diagnostics", "--rights", "Manage", "Send", "Listen")
    subscription = resource.split("/")[2]
    storage = f"/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Storage/storageAccounts/{ACCOUNT}"
    logs = json.dumps([{"categoryGroup": "audit", "enabled": True}])
    az("monitor", "diagnostic-settings", "create", "--resource", resource, "-n", "to-storage",
       "--storage-account", storage, "--logs", logs)
    az("monitor", "diagnostic-settings", "create", "--resource", resource, "-n", "to-hub",
       "--event-hub-rule", rule["id"], "--event-hub", "hsm-logs", "--logs", logs)

    workdir = pathlib.Path(work.name)
    config, private = activate_with_crypto_user(emulator, group, "chsm-logs", workdir)
    for i in range(3):
        util(config, workdir, "sign", "-f", "message.txt", "-k", private, "-m", "1", "-out", f"m{i}.sig", user=f"cu1:{CU_PASSWORD}")

    deadline = time.time() + 60
    while True:
        names, records = records_in_azurite(port, emulator.endpoints["caCertificate"])
        if sum(r["operationName"] == "CN_SIGN" for r in records) >= 3 or time.time() > deadline:
            break
        time.sleep(0.25)
    operations = [r["operationName"] for r in records]
    assert operations.count("CN_SIGN") == 3, operations
    assert "CN_GENERATE_KEY_PAIR" in operations and "CN_CREATE_USER" in operations and "CN_CHANGE_PSWD" in operations
    # In order: the officer's user before the user's key before its signatures.
    assert operations.index("CN_CREATE_USER") < operations.index("CN_GENERATE_KEY_PAIR") < operations.index("CN_SIGN")
    for record in records:
        assert record["resourceId"] == resource.upper()
        assert record["category"] == "HsmServiceOperations"
        text = json.dumps(record)
        for secret in ("cu1", CU_PASSWORD, "officer-pass-1", LABEL):
            assert secret not in text, (secret, text)
    assert all(n.startswith(f"resourceId={resource.upper()}/y=") and n.endswith("/m=00/PT1H.json") for n in names), names

    # The same operations, as `{"records":[...]}` events of the hub, read
    # with the official SDK through the rule's connection string.
    keys = az("eventhubs", "namespace", "authorization-rule", "keys", "list", "-g", group,
              "--namespace-name", ns, "--authorization-rule-name", "diagnostics")
    conn = keys["primaryConnectionString"] + ";EntityPath=hsm-logs;UseDevelopmentEmulator=true"
    deadline = time.time() + 60
    while True:
        events = collect(conn, "0", 1, timeout=5)
        hub_records = [r for e in events for r in json.loads(b"".join(e.body))["records"]]
        hub_operations = [r["operationName"] for r in hub_records]
        if hub_operations.count("CN_SIGN") >= 3 or time.time() > deadline:
            break
        time.sleep(0.5)
    assert hub_operations == operations, (hub_operations, operations)
    assert len(events) < len(hub_records)
    assert all(e.partition_key is None for e in events)
    for record in hub_records:
        text = json.dumps(record)
        for secret in ("cu1", CU_PASSWORD, "officer-pass-1", LABEL):
            assert secret not in text, (secret, text)
