"""Addresses: normalised per channel, masked, encrypted with the row id bound, hashed with the node's key."""

from __future__ import annotations

import uuid

import pytest

from jaldpi.core.errors import ValidationFailed
from jaldpi.notifications.addresses import AddressBox, mask, mentions, normalise
from tests.conftest import test_settings


@pytest.mark.parametrize(("raw", "expected"), [
    ("9876543221", "+919876543221"), ("+91 98765-43221", "+919876543221"), ("09876543221", "+919876543221"),
    ("919876543221", "+919876543221"), ("+447700900123", "+447700900123"),
])
def test_phone_numbers_normalise_to_e164(raw, expected):
    assert normalise("sms", raw) == expected
    assert mask("sms", expected).endswith(expected[-2:])


@pytest.mark.parametrize(("channel", "raw"), [("sms", "12345"), ("sms", "5876543210"), ("whatsapp", "call me"),
                                              ("email", "not-an-email"), ("sms", "  ")])
def test_bad_addresses_are_refused(channel, raw):
    with pytest.raises(ValidationFailed) as caught:
        normalise(channel, raw)
    assert caught.value.details[0]["field"] == "address"


def test_masks_hide_the_middle():
    assert mask("sms", "+919876543221") == "98******21"
    assert mask("email", "Ravi.Kumar@Example.org".rpartition("@")[0] + "@example.org") == "R***@example.org"
    assert normalise("email", " ravi@Example.ORG ") == "ravi@example.org"


def test_mentions_finds_a_number_in_any_spacing():
    assert mentions("call 98765 43221 now", "+919876543221")
    assert not mentions("grievance GRV-7K3M9Q2XWZ4P", "+919876543221")
    assert mentions("write to RAVI@example.org", "ravi@example.org")


def test_ciphertext_is_bound_to_its_row_and_hash_is_keyed(database):
    box = AddressBox.from_settings(test_settings(database))
    row, other = uuid.uuid4(), uuid.uuid4()
    blob = box.seal(row, "+919876543221")
    assert b"9876543221" not in blob
    assert box.open(row, blob) == "+919876543221"
    with pytest.raises(ValueError):
        box.open(other, blob)
    assert box.hash("sms", "+919876543221") == box.hash("whatsapp", "+919876543221")
    other_key = AddressBox.from_settings(test_settings(database, identity_hash_key="another-key"))
    assert other_key.hash("sms", "+919876543221") != box.hash("sms", "+919876543221")
