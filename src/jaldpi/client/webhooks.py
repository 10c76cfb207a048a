"""Verify webhook deliveries from a jaldpi node (``X-Jaldpi-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>``).

The node signs ``"<t>.<raw body>"`` with the subscription's secret. A receiver checks the signature against the
exact bytes it received (before parsing the JSON), refuses timestamps outside a tolerance (a captured request
replayed later), and drops events whose ``id`` it has already processed (delivery is at least once)::

    from jaldpi.client import SignatureVerificationError, verify_signature

    try:
        verify_signature(secret, request.headers.get("X-Jaldpi-Signature"), raw_body)
    except SignatureVerificationError as exc:
        return 400, str(exc)

These are the node's own functions (``jaldpi.webhooks.signing``, standard library only), re-exported so sender and
receiver cannot drift apart; ``sign`` lets you test your receiver with signed requests.
"""

from jaldpi.webhooks.signing import SIGNATURE_HEADER, SignatureVerificationError, sign, verify_signature

__all__ = ["SIGNATURE_HEADER", "SignatureVerificationError", "sign", "verify_signature"]
