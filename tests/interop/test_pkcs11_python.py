"""python-pkcs11 (PyPI) drives libazcloudhsm_pkcs11.so unchanged, as a
Python application reaches an Azure Cloud HSM: the slot comes from the client
configuration the utility's saveConfig writes, the crypto user logs in with
Azure's "user:password" PIN, and keys, signatures and ciphertexts are checked
outside the HSM with `cryptography`."""

import os
import pathlib
import tempfile
import uuid

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from conftest import ROOT, save_config_and_activate, util

# python-pkcs11 is pinned in tests/interop/requirements.txt.
import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.exceptions import AttributeSensitive, NoSuchKey, PinIncorrect
from pkcs11.util.ec import encode_ec_public_key, encode_ecdsa_signature, encode_named_curve_parameters

SKU = {"family": "B", "name": "Standard_B1"}
CU_PASSWORD = "py-user-4321"


def module_path() -> str:
    path = os.environ.get("AZCLOUDHSM_PKCS11_MODULE", str(ROOT / "target" / "debug" / "libazcloudhsm_pkcs11.so"))
    assert pathlib.Path(path).exists(), f"{path} is missing: `cargo build -p azcloudhsm-pkcs11` (tests/run.sh builds it)"
    return path


@pytest.fixture(scope="module")
def token(emulator, hsm, resources):
    """An activated cluster with crypto user `cu1`, its saveConfig file in
    AZCLOUDHSM_CLIENT_CONFIG, and the module's token for it."""
    group = f"rg-p11-{uuid.uuid4().hex[:6]}"
    resources.resource_groups.create_or_update(group, {"location": "eastus2"})
    hsm.cloud_hsm_clusters.begin_create_or_update(group, "chsm-py", {"location": "eastus2", "sku": SKU}).result()
    with tempfile.TemporaryDirectory() as work:
        config = save_config_and_activate(emulator, group, "chsm-py", work, "officer-pass-1")
        util(config, work, "loginHSM", "-u", "CO", "-s", "admin", "-p", "officer-pass-1",
             "createUser", "CU", "cu1", CU_PASSWORD)
        previous = os.environ.get("AZCLOUDHSM_CLIENT_CONFIG")
        os.environ["AZCLOUDHSM_CLIENT_CONFIG"] = str(config)
        os.environ.pop("azcloudhsm_password", None)
        lib = pkcs11.lib(module_path())
        try:
            # One slot, labelled with the cluster's name.
            (slot,) = lib.get_slots(token_present=True)
            yield slot.get_token()
        finally:
            lib.finalize()
            if previous is None:
                os.environ.pop("AZCLOUDHSM_CLIENT_CONFIG", None)
            else:
                os.environ["AZCLOUDHSM_CLIENT_CONFIG"] = previous


def test_token_is_the_configured_cluster(token):
    assert token.label == "chsm-py"
    assert len(token.serial) == 16
    flags = pkcs11.TokenFlag
    assert token.flags & flags.LOGIN_REQUIRED and token.flags & flags.TOKEN_INITIALIZED
    assert token.flags & flags.USER_PIN_INITIALIZED and token.flags & flags.RNG


def test_wrong_pins_are_pin_incorrect(token):
    for pin in (f"cu1:{CU_PASSWORD}x", "no-colon", "nobody:whatever1"):
        with pytest.raises(PinIncorrect):
            token.open(user_pin=pin)


def test_keys_signatures_and_ciphers(token):
    with token.open(rw=True, user_pin=f"cu1:{CU_PASSWORD}") as session:
        data = b"signed through python-pkcs11"

        # RSA-2048: PKCS#1 v1.5 and PSS, checked with the public key read back.
        rsa_pub, rsa_priv = session.generate_keypair(KeyType.RSA, 2048, store=True, label="py-rsa", id=b"\x01")
        numbers = rsa.RSAPublicNumbers(int.from_bytes(rsa_pub[Attribute.PUBLIC_EXPONENT], "big"),
                                       int.from_bytes(rsa_pub[Attribute.MODULUS], "big"))
        outside = numbers.public_key()
        signature = rsa_priv.sign(data, mechanism=Mechanism.SHA256_RSA_PKCS)
        outside.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        assert rsa_pub.verify(data, signature, mechanism=Mechanism.SHA256_RSA_PKCS)
        assert not rsa_pub.verify(b"something else", signature, mechanism=Mechanism.SHA256_RSA_PKCS)
        pss = (Mechanism.SHA256, pkcs11.MGF.SHA256, 32)
        pss_signature = rsa_priv.sign(data, mechanism=Mechanism.SHA256_RSA_PKCS_PSS, mechanism_param=pss)
        outside.verify(pss_signature, data, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
        # RSA-OAEP: sealed outside, opened in the HSM.
        sealed = outside.encrypt(b"key material", padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None))
        oaep = (Mechanism.SHA256, pkcs11.MGF.SHA256, None)
        assert rsa_priv.decrypt(sealed, mechanism=Mechanism.RSA_PKCS_OAEP, mechanism_param=oaep) == b"key material"

        # EC P-256: python-pkcs11's domain parameters, r || s signatures.
        params = session.create_domain_parameters(
            KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True)
        ec_pub, ec_priv = params.generate_keypair(store=True, label="py-ec")
        ec_signature = ec_priv.sign(data, mechanism=Mechanism.ECDSA_SHA256)
        assert len(ec_signature) == 64
        ec_outside = serialization.load_der_public_key(encode_ec_public_key(ec_pub))
        ec_outside.verify(encode_ecdsa_signature(ec_signature), data, ec.ECDSA(hashes.SHA256()))
        with pytest.raises(InvalidSignature):
            ec_outside.verify(encode_ecdsa_signature(ec_signature), b"tampered", ec.ECDSA(hashes.SHA256()))
        assert ec_pub.verify(data, ec_signature, mechanism=Mechanism.ECDSA_SHA256)

        # AES-256: CBC-PAD with the application's IV; GCM, whose IV the HSM
        # draws and writes into the parameter's buffer (python-pkcs11 passes
        # the nonce's own bytes, so the caller holds the HSM's IV after).
        aes = session.generate_key(KeyType.AES, 256, store=True, label="py-aes")
        iv = session.generate_random(128)
        plain = os.urandom(100)
        crypttext = aes.encrypt(plain, mechanism_param=iv)
        assert len(crypttext) == 112 and crypttext[:100] != plain
        assert aes.decrypt(crypttext, mechanism_param=iv) == plain
        nonce = bytes(bytearray(12))
        gcm = pkcs11.GCMParams(nonce, b"header", 128)
        sealed = aes.encrypt(plain, mechanism=Mechanism.AES_GCM, mechanism_param=gcm)
        assert len(sealed) == 116
        assert nonce != bytes(12), "the HSM's IV comes back in the nonce"
        assert aes.decrypt(sealed, mechanism=Mechanism.AES_GCM, mechanism_param=pkcs11.GCMParams(nonce, b"header", 128)) == plain

        # Finding by label, class and id.
        assert session.get_key(label="py-rsa", object_class=ObjectClass.PRIVATE_KEY) == rsa_priv
        assert session.get_key(label="py-aes", key_type=KeyType.AES) == aes
        labelled = list(session.get_objects({Attribute.LABEL: "py-rsa"}))
        assert sorted(o[Attribute.CLASS] for o in labelled) == sorted([ObjectClass.PUBLIC_KEY, ObjectClass.PRIVATE_KEY])
        assert [o.handle for o in session.get_objects({Attribute.ID: b"\x01", Attribute.CLASS: ObjectClass.PUBLIC_KEY})] == [rsa_pub.handle]
        with pytest.raises(NoSuchKey):
            session.get_key(label="no-such-key")
        # Secret values stay in the HSM; a forged signature does not verify.
        assert aes[Attribute.SENSITIVE]
        with pytest.raises(AttributeSensitive):
            aes[Attribute.VALUE]
        assert not ec_pub.verify(data, bytes(64), mechanism=Mechanism.ECDSA_SHA256)

        # Destroyed keys are gone.
        aes.destroy()
        with pytest.raises(NoSuchKey):
            session.get_key(label="py-aes")
