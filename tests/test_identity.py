"""did:key identities and strict Ed25519 (RFC 8032 vectors, malleability, wrong keys)."""

import os
import stat

import pytest

from ccl.diag import CclError
from ccl.identity import GROUP_ORDER, Identity, Keystore, did_from_public, public_from_did, verify

# RFC 8032 §7.1 test vectors: (secret key, public key, message, signature)
RFC8032 = [
    ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46b"
     "d25bf5f0595bbe24655141438e7a100b"),
    ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c"
     "387b2eaeb4302aeeb00d291612bb0c00"),
    ("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc659"
     "4a7c15e9716ed28dc027beceea1ec40a"),
]


@pytest.mark.parametrize("secret, public, message, signature", RFC8032)
def test_rfc8032_vectors(secret, public, message, signature):
    ident = Identity.from_seed("t", bytes.fromhex(secret))
    assert ident.public.hex() == public
    sig = ident.sign(bytes.fromhex(message))
    assert sig.hex() == signature
    assert verify(ident.did, bytes.fromhex(message), sig)


def test_did_key_round_trip_and_prefix():
    ident = Identity.generate("a")
    assert ident.did.startswith("did:key:z6Mk")
    assert public_from_did(ident.did) == ident.public
    assert did_from_public(ident.public) == ident.did
    for bad in ("did:web:x", "did:key:zzz", "did:key:" + "z" + "1" * 40, "nope"):
        with pytest.raises(ValueError):
            public_from_did(bad)


def test_malleated_signature_is_refused():
    ident = Identity.generate("a")
    sig = ident.sign(b"vote yes")
    s = int.from_bytes(sig[32:], "little")
    malleated = sig[:32] + (s + GROUP_ORDER).to_bytes(32, "little")
    assert verify(ident.did, b"vote yes", sig)
    assert not verify(ident.did, b"vote yes", malleated)


def test_other_key_or_other_bytes_refused():
    a, b = Identity.generate("a"), Identity.generate("b")
    sig = a.sign(b"transfer 5")
    assert not verify(b.did, b"transfer 5", sig)
    assert not verify(a.did, b"transfer 6", sig)
    assert not verify(a.did, b"transfer 5", sig[:-1])
    assert not verify("did:web:nope", b"transfer 5", sig)


def test_keystore_files_are_private(tmp_path):
    ks = Keystore(tmp_path / "keys")
    ident = ks.create("ana")
    mode = stat.S_IMODE(os.stat(tmp_path / "keys" / "ana.pem").st_mode)
    assert mode == 0o600
    assert ks.load("ana").did == ident.did
    assert ks.find(ident.did).name == "ana"
    assert ks.names() == ["ana"]
    with pytest.raises(CclError):
        ks.create("ana")
    with pytest.raises(CclError):
        ks.create("../evil")


# The eight points of small order, canonically encoded, and encodings that are not canonical
# (a y of p or more; x = 0 with the sign bit set). Issue 14: with the identity point as the key,
# the signature 01 00…00 verified any message.
SMALL_ORDER = ("01" + "00" * 31, "ec" + "ff" * 30 + "7f", "00" * 32, "00" * 31 + "80",
               "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
               "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
               "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
               "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa")
NON_CANONICAL = ("01" + "00" * 30 + "80", "ed" + "ff" * 30 + "7f", "ee" + "ff" * 30 + "7f", "ff" * 32)


@pytest.mark.parametrize("key", SMALL_ORDER + NON_CANONICAL)
def test_weak_public_keys_are_no_identity(key):
    from ccl.identity import did_from_public, public_from_did, verify, weak_public_key

    raw = bytes.fromhex(key)
    assert weak_public_key(raw) is not None
    did = did_from_public(raw)
    with pytest.raises(ValueError):
        public_from_did(did)
    for signature in (b"\x01" + b"\x00" * 63, b"\x00" * 64, bytes.fromhex(key) + b"\x00" * 32):
        assert not verify(did, b"any message", signature)


def test_the_keyless_forgery_of_issue_14_is_refused():
    from ccl.identity import did_from_public, verify

    assert not verify(did_from_public(b"\x01" + b"\x00" * 31), b"any", b"\x01" + b"\x00" * 63)


def test_sound_keys_stay_sound():
    from ccl.identity import Identity, verify, weak_public_key

    for i in range(64):
        ident = Identity.from_seed("k", bytes([i]) * 32)
        assert weak_public_key(ident.public) is None
        assert verify(ident.did, b"m", ident.sign(b"m"))


def test_a_did_has_one_spelling():
    """Found by review: `did:key:…\\n` was a second identity with the same key (base58 forgives
    trailing white space; `$` matches before a final new line)."""
    from ccl.identity import Identity, did_problem, public_from_did, verify

    ana = Identity.from_seed("ana", b"\x01" * 32)
    for spelt in (ana.did + "\n", ana.did + " ", " " + ana.did, "sys:lending\n", "did:web:x\n"):
        assert did_problem(spelt) is not None, repr(spelt)
    with pytest.raises(ValueError):
        public_from_did(ana.did + "\n")
    assert not verify(ana.did + "\n", b"m", ana.sign(b"m"))
    assert did_problem(ana.did) is None and verify(ana.did, b"m", ana.sign(b"m"))
