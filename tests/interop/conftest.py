"""Starts the real cloudhsm-emulator for the interop tests and builds SDK clients for it."""

import json
import os
import pathlib
import signal
import subprocess
import tempfile
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def emulator_binary() -> str:
    return os.environ.get("CLOUDHSM_EMULATOR_BIN", str(ROOT / "target" / "debug" / "cloudhsm-emulator"))


class RunningEmulator:
    def __init__(self, *args: str):
        self.dir = tempfile.TemporaryDirectory()
        endpoints_file = pathlib.Path(self.dir.name) / "endpoints.json"
        self.process = subprocess.Popen(
            [emulator_binary(), "--data-dir", self.dir.name, "--port", "0", "--data-plane-port", "0", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 30
        while not endpoints_file.exists():
            if self.process.poll() is not None or time.time() > deadline:
                raise RuntimeError("cloudhsm-emulator did not start")
            time.sleep(0.02)
        self.endpoints = json.loads(endpoints_file.read_text())
        # Both requests (azure-core) and MSAL trust the emulator's CA through this.
        os.environ["REQUESTS_CA_BUNDLE"] = self.endpoints["caCertificate"]

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=15)
        self.dir.cleanup()


@pytest.fixture(scope="session")
def emulator():
    running = RunningEmulator("--provisioning-delay", "300ms", "--page-size", "2")
    yield running
    running.stop()


@pytest.fixture(scope="session")
def credential(emulator):
    from azure.identity import ClientSecretCredential

    ep = emulator.endpoints
    return ClientSecretCredential(
        ep["tenantId"],
        ep["clientId"],
        ep["clientSecret"],
        authority=ep["authority"],
        disable_instance_discovery=True,
    )


def client_kwargs(emulator):
    ep = emulator.endpoints
    return {
        "base_url": ep["resourceManager"],
        # The usual ARM scope: the emulator accepts it as well as its own URL.
        "credential_scopes": ["https://management.azure.com/.default"],
        "polling_interval": 0.2,
    }


@pytest.fixture(scope="session")
def hsm(emulator, credential):
    from azure.mgmt.hardwaresecuritymodules import HardwareSecurityModulesMgmtClient

    return HardwareSecurityModulesMgmtClient(credential, emulator.endpoints["subscriptionId"], **client_kwargs(emulator))


@pytest.fixture(scope="session")
def resources(emulator, credential):
    from azure.mgmt.resource.resources import ResourceManagementClient

    return ResourceManagementClient(credential, emulator.endpoints["subscriptionId"], **client_kwargs(emulator))


@pytest.fixture(scope="session")
def msi(emulator, credential):
    from azure.mgmt.msi import ManagedServiceIdentityClient

    return ManagedServiceIdentityClient(credential, emulator.endpoints["subscriptionId"], **client_kwargs(emulator))


@pytest.fixture(scope="session")
def network(emulator, credential):
    from azure.mgmt.network import NetworkManagementClient

    return NetworkManagementClient(credential, emulator.endpoints["subscriptionId"], **client_kwargs(emulator))
