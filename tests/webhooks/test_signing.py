"""Stripe-style webhook signatures: what a receiver accepts and what it must reject, and why the module stays
standard-library only (partners and the client SDK copy it)."""

from __future__ import annotations

import ast
import hashlib
import hmac
import sys
from pathlib import Path

import pytest

from jaldpi.webhooks import signing
from jaldpi.webhooks.signing import SignatureVerificationError, sign, verify_signature

SECRET = "whsec-test-0123456789"
BODY = b'{"id":"node:1","type":"households.create"}'
T = 1_800_000_000


def test_a_signature_verifies_against_the_exact_body():
    header = sign(SECRET, BODY, T)
    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert header == f"t={T},v1={expected}"
    assert verify_signature(SECRET, header, BODY, now=T + 10) == T


@pytest.mark.parametrize(("header", "body", "now", "why"), [
    (None, BODY, T, "missing"),
    ("v1=abc", BODY, T, "no t="),
    (f"t={T}", BODY, T, "no v1="),
    ("t=soon,v1=abc", BODY, T, "not an integer"),
    (sign(SECRET, BODY, T), BODY + b" ", T, "does not match"),
    (sign("another-secret-value", BODY, T), BODY, T, "does not match"),
    (sign(SECRET, BODY, T), BODY, T + 301, "away from now"),
    (sign(SECRET, BODY, T), BODY, T - 301, "away from now"),
])
def test_rejections_say_why(header, body, now, why):
    with pytest.raises(SignatureVerificationError, match=why):
        verify_signature(SECRET, header, body, now=now)


def test_any_of_several_signatures_and_the_tolerance_can_be_disabled():
    rotated = sign("old-secret-0123456789", BODY, T) + "," + sign(SECRET, BODY, T).split(",")[1]
    assert verify_signature(SECRET, rotated, BODY, now=T) == T
    assert verify_signature(SECRET, sign(SECRET, BODY, T), BODY, tolerance_seconds=0, now=T + 10**6) == T


def test_the_module_imports_only_the_standard_library():
    tree = ast.parse(Path(signing.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported and imported <= set(sys.stdlib_module_names) | {"__future__"}, imported
