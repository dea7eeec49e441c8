#!/usr/bin/env python3
"""Test fixture service: keys, certificates and tokens made by PyJWT and cryptography.

The GatewayAuth tests start this script once per test run, so every signature they
expect to verify was made by an implementation other than the gateway's. At start it generates the keys
and certificates and writes them as one JSON line. After that it reads one JSON request
per line on stdin and writes one JSON response line per request:

  {"op": "encode", "key": NAME, "alg": ALG, "headers": {...}, "payload": {...}}
      a token from jwt.encode
  {"op": "sign", "key": NAME, "alg": ALG, "header": TEXT, "payload": TEXT}
      a token over exactly these header and payload texts, signed by PyJWT's algorithm
  {"op": "sign_der", "key": NAME, "alg": "ES256", "header": TEXT, "payload": TEXT}
      like sign, but with the DER ECDSA signature that cryptography returns
  {"op": "hmac", "secret": BASE64, "header": TEXT, "payload": TEXT}
      an HS256 token whose HMAC key is the given bytes

A failed request gets {"error": MESSAGE}. The script exits when stdin closes.
"""
import base64
import datetime
import hashlib
import hmac
import json
import sys

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64std(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def uint_bytes(value: int, length: int = 0) -> bytes:
    length = length or (value.bit_length() + 7) // 8
    return value.to_bytes(length, "big")


def public_jwk(private_key) -> dict:
    public = private_key.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        numbers = public.public_numbers()
        return {"kty": "RSA", "n": b64url(uint_bytes(numbers.n)), "e": b64url(uint_bytes(numbers.e))}
    if isinstance(public, ec.EllipticCurvePublicKey):
        numbers = public.public_numbers()
        curve, size = {"secp256r1": ("P-256", 32), "secp384r1": ("P-384", 48), "secp521r1": ("P-521", 66)}[public.curve.name]
        return {"kty": "EC", "crv": curve, "x": b64url(uint_bytes(numbers.x, size)), "y": b64url(uint_bytes(numbers.y, size))}
    if isinstance(public, ed25519.Ed25519PublicKey):
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}
    raise ValueError("unsupported key type " + type(public).__name__)


def self_signed_certificate(private_key, common_name: str) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    start = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=3650))
    )
    algorithm = None if isinstance(private_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(private_key, algorithm).public_bytes(serialization.Encoding.DER)


def thumbprint(der: bytes) -> str:
    return b64url(hashlib.sha256(der).digest())


def generate_keys() -> dict:
    keys = {
        "rsa2048": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "rsa2048b": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "rsa_enc": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "rsa3072": rsa.generate_private_key(public_exponent=65537, key_size=3072),
        "rsa4096": rsa.generate_private_key(public_exponent=65537, key_size=4096),
        "rsa1024": rsa.generate_private_key(public_exponent=65537, key_size=1024),
        "p256": ec.generate_private_key(ec.SECP256R1()),
        "p384": ec.generate_private_key(ec.SECP384R1()),
        "p521": ec.generate_private_key(ec.SECP521R1()),
        "ed25519": ed25519.Ed25519PrivateKey.generate(),
    }
    return keys


def client_certificate() -> tuple:
    """Return a self-signed client certificate (DER) and its RFC 8705 thumbprint.

    The thumbprint contains `-` or `_`, so the standard base64 spelling of the digest
    differs from the base64url one.
    """
    while True:
        key = ec.generate_private_key(ec.SECP256R1())
        der = self_signed_certificate(key, "client.test")
        text = thumbprint(der)
        if "-" in text or "_" in text:
            return der, text


def signing_input(header: str, payload: str) -> bytes:
    return (b64url(header.encode("utf-8")) + "." + b64url(payload.encode("utf-8"))).encode("ascii")


def handle(request: dict, keys: dict) -> dict:
    op = request["op"]
    if op == "encode":
        headers = dict(request.get("headers", {}))
        headers.setdefault("typ", None)
        token = jwt.encode(request["payload"], keys[request["key"]], algorithm=request["alg"], headers=headers)
        return {"token": token}
    if op == "sign":
        algorithm = jwt.algorithms.get_default_algorithms()[request["alg"]]
        message = signing_input(request["header"], request["payload"])
        signature = algorithm.sign(message, keys[request["key"]])
        return {"token": message.decode("ascii") + "." + b64url(signature)}
    if op == "sign_der":
        message = signing_input(request["header"], request["payload"])
        signature = keys[request["key"]].sign(message, ec.ECDSA(hashes.SHA256()))
        return {"token": message.decode("ascii") + "." + b64url(signature)}
    if op == "hmac":
        message = signing_input(request["header"], request["payload"])
        secret = base64.b64decode(request["secret"])
        signature = hmac.new(secret, message, hashlib.sha256).digest()
        return {"token": message.decode("ascii") + "." + b64url(signature)}
    raise ValueError("unknown op " + repr(op))


def main() -> None:
    keys = generate_keys()
    client_der, client_thumbprint = client_certificate()
    fixtures = {
        "keys": {
            name: {
                "jwk": public_jwk(key),
                "spki_pem": key.public_key()
                .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
                .decode("ascii"),
                "spki_der": b64std(
                    key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
                ),
                "certificate": b64std(self_signed_certificate(key, name + ".issuer.test")),
            }
            for name, key in keys.items()
        },
        "client_certificate": b64std(client_der),
        "client_thumbprint": client_thumbprint,
    }
    sys.stdout.write(json.dumps(fixtures) + "\n")
    sys.stdout.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            response = handle(json.loads(line), keys)
        except Exception as error:  # reported to the test, which fails with the message
            response = {"error": type(error).__name__ + ": " + str(error)}
        sys.stdout.write(json.dumps(response) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
