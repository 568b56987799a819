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


def az_cloudhsm_binary() -> str:
    return str(ROOT / "target" / "debug" / "az-cloudhsm")


class RunningEmulator:
    def __init__(self, *args: str):
        self.dir = tempfile.TemporaryDirectory()
        endpoints_file = pathlib.Path(self.dir.name) / "endpoints.json"
        self.process = subprocess.Popen(
            [emulator_binary(), "--data-dir", self.dir.name, "--port", "0", "--data-plane-port", "0", "--event-hubs-port", "0", "--event-hubs-rest-port", "0", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 30
        while not endpoints_file.exists():
            if self.process.poll() is not None or time.time() > deadline:
                raise RuntimeError("cloudhsm-emulator did not start")
            time.sleep(0.02)
        self.endpoints = json.loads(endpoints_file.read_text())
        # Both requests (azure-core) and MSAL trust the emulator's CA through this;
        # the one before is put back when this emulator stops (a test's own
        # emulator must not leave the session's clients pointing at a deleted CA).
        self._previous_ca = os.environ.get("REQUESTS_CA_BUNDLE")
        os.environ["REQUESTS_CA_BUNDLE"] = self.endpoints["caCertificate"]

    def kill_and_restart(self):
        """`kill -9`, then the same binary and arguments on the same data
        dir; returns once the new process has written its endpoints (give
        fixed ports in the arguments for clients that must find it again)."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        endpoints_file = pathlib.Path(self.dir.name) / "endpoints.json"
        endpoints_file.unlink(missing_ok=True)
        self.process = subprocess.Popen(self.process.args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while not endpoints_file.exists():
            if self.process.poll() is not None or time.time() > deadline:
                raise RuntimeError("cloudhsm-emulator did not restart")
            time.sleep(0.02)
        self.endpoints = json.loads(endpoints_file.read_text())

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=15)
        if os.environ.get("REQUESTS_CA_BUNDLE") == self.endpoints["caCertificate"]:
            if self._previous_ca is None:
                os.environ.pop("REQUESTS_CA_BUNDLE", None)
            else:
                os.environ["REQUESTS_CA_BUNDLE"] = self._previous_ca
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
def deployments(emulator, credential):
    """Template deployments: in azure-mgmt-resource 26 they left
    ResourceManagementClient for azure-mgmt-resource-deployments."""
    from azure.mgmt.resource.deployments import DeploymentsMgmtClient

    return DeploymentsMgmtClient(credential, emulator.endpoints["subscriptionId"], **client_kwargs(emulator))


@pytest.fixture(scope="session")
def msi(emulator, credential):
    from azure.mgmt.msi import ManagedServiceIdentityClient

    return ManagedServiceIdentityClient(credential, emulator.endpoints["subscriptionId"], **client_kwargs(emulator))


@pytest.fixture(scope="session")
def network(emulator, credential):
    from azure.mgmt.network import NetworkManagementClient

    return NetworkManagementClient(credential, emulator.endpoints["subscriptionId"], **client_kwargs(emulator))


# --- The real Azure CLI -------------------------------------------------------
# `az` is installed by tests/run.sh into its own virtualenv (.tooling/az),
# pinned in tests/interop/az-requirements.txt, and used exactly as shipped:
# nothing in it is patched. Each test session gets a fresh AZURE_CONFIG_DIR.


def az_binary() -> str:
    return os.environ.get("AZ_CLI", str(ROOT / ".tooling" / "az" / "bin" / "az"))


class AzFailed(AssertionError):
    def __init__(self, args, result):
        self.returncode = result.returncode
        self.stderr = result.stderr
        super().__init__(f"az {' '.join(args)} exited {result.returncode}:\n{result.stderr}")


class Az:
    """Runs the real `az` against the emulator with its own config directory."""

    def __init__(self, emulator, config_dir: str, extra_env=None):
        self.emulator = emulator
        self.config_dir = config_dir
        self.env = {
            k: v
            for k, v in os.environ.items()
            # The emulator's managed-identity variables only where a test
            # plays an app that has them.
            if k not in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "MSI_SECRET")
        }
        self.env.update(
            {
                "AZURE_CONFIG_DIR": config_dir,
                # The emulator's CA, for az's requests and MSAL alike.
                "REQUESTS_CA_BUNDLE": emulator.endpoints["caCertificate"],
                "AZURE_CORE_COLLECT_TELEMETRY": "false",
                "AZURE_CORE_NO_COLOR": "true",
                "AZURE_CORE_ONLY_SHOW_ERRORS": "true",
                "AZURE_CORE_SURVEY_MESSAGE": "false",
            }
        )
        self.env.update(extra_env or {})

    def run_raw(self, *args: str, env=None):
        return subprocess.run(
            [az_binary(), *args],
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=300,
        )

    def __call__(self, *args: str, env=None):
        """Runs `az ARGS -o json`; returns the parsed output (None when empty)."""
        full = [*args, "-o", "json"]
        result = self.run_raw(*full, env=env)
        if result.returncode != 0:
            raise AzFailed(full, result)
        out = result.stdout.strip()
        return json.loads(out) if out else None

    def fails(self, *args: str, env=None) -> AzFailed:
        """Runs a command that must fail; returns its failure (exit code, stderr)."""
        result = self.run_raw(*args, env=env)
        assert result.returncode != 0, f"az {' '.join(args)} succeeded:\n{result.stdout}"
        assert "Traceback" not in result.stderr, result.stderr
        return AzFailed(args, result)

    def sibling(self, name: str, extra_env=None) -> "Az":
        """Another az with a config directory of its own (another user or app)."""
        path = pathlib.Path(self.config_dir).parent / name
        path.mkdir(exist_ok=True)
        return Az(self.emulator, str(path), extra_env)


def register_emulator_cloud(az: Az, name: str, resource_manager: str):
    """What the README tells a user: register the emulator as a custom cloud by
    its resource manager URL (az discovers the rest from its metadata), make it
    current, and turn off MSAL's instance discovery, which would ask
    login.microsoftonline.com about an authority it does not know."""
    az("cloud", "register", "-n", name, "--endpoint-resource-manager", resource_manager)
    az("cloud", "set", "-n", name)
    az("config", "set", "core.instance_discovery=false")


@pytest.fixture(scope="session")
def az_home():
    with tempfile.TemporaryDirectory() as home:
        yield pathlib.Path(home)


@pytest.fixture(scope="session")
def az(emulator, az_home):
    """An az logged in with the emulator's well-known service principal."""
    if not pathlib.Path(az_binary()).exists():
        pytest.fail(f"the Azure CLI is not installed at {az_binary()} (tests/run.sh installs it)")
    (az_home / "sp").mkdir()
    cli = Az(emulator, str(az_home / "sp"))
    ep = emulator.endpoints
    register_emulator_cloud(cli, "CloudHsmEmulator", ep["resourceManager"])
    cli(
        "login",
        "--service-principal",
        "-u",
        ep["clientId"],
        "-p",
        ep["clientSecret"],
        "--tenant",
        ep["tenantId"],
    )
    return cli


# --- The data-plane utility (`az-cloudhsm util`) ------------------------------


def util(config, workdir, *args, user=None):
    """`az-cloudhsm util --config CONFIG singlecmd ARGS` in `workdir`; its
    output. `user` ("cu1:password") goes in azcloudhsm_password."""
    env = {**os.environ}
    if user:
        env["azcloudhsm_password"] = user
    result = subprocess.run(
        [az_cloudhsm_binary(), "util", "--config", str(config), "singlecmd", *args],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"util {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def save_config_and_activate(emulator, group, name, workdir, officer_password):
    """The README's walkthrough for a new cluster: the utility's saveConfig
    (found through the control plane), then activation with the owner's
    certificates made by openssl, the pre-crypto-officer's new password.
    Answers the client configuration's path."""
    workdir = pathlib.Path(workdir)
    config = workdir / "azcloudhsm_client.json"
    subprocess.run([az_cloudhsm_binary(), "util",
                    "--endpoints", str(pathlib.Path(emulator.dir.name) / "endpoints.json"),
                    "-g", group, "-n", name, "singlecmd", "saveConfig", "-out", str(config)],
                   check=True, capture_output=True)
    util(config, workdir, "loginHSM", "-u", "PRECO", "-s", "admin", "-p", "password", "getCertReq", "-f", "partition.csr")
    for command in (
        ["req", "-newkey", "rsa:2048", "-nodes", "-sha256", "-keyout", "PO.key", "-out", "PO.csr", "-subj", "/CN=Partition Owner"],
        ["x509", "-req", "-sha256", "-days", "3650", "-in", "PO.csr", "-signkey", "PO.key", "-out", "PO.crt"],
        ["x509", "-req", "-sha256", "-days", "3650", "-in", "partition.csr", "-CA", "PO.crt", "-CAkey", "PO.key",
         "-CAcreateserial", "-out", "POAC.crt"],
    ):
        subprocess.run(["openssl", *command], cwd=workdir, check=True, capture_output=True)
    util(config, workdir, "loginHSM", "-u", "PRECO", "-s", "admin", "-p", "password",
         "storeCert", "-fPath", "PO.crt", "-type", "4", "storeCert", "-fPath", "POAC.crt", "-type", "8",
         "changePswd", "PRECO", "admin", officer_password)
    return config
