#!/usr/bin/env python3
"""Mint test tokens and JWKS with PyJWT and cryptography, an implementation independent
of the gateway's own JOSE code.

Usage:
  mint_token.py jwks KEY.pem KID ALG            -> prints a JWKS with the key's public part
  mint_token.py token KEY.pem KID ALG CLAIMS    -> prints a compact JWS over CLAIMS (JSON)
  mint_token.py thumbprint CERT.pem             -> prints base64url(SHA-256(DER))
"""
import base64
import hashlib
import json
import sys

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm


def load_key(path):
    with open(path, "rb") as handle:
        return serialization.load_pem_private_key(handle.read(), password=None)


def public_jwk(key, kid, alg):
    public = key.public_key()
    if alg.startswith("RS") or alg.startswith("PS"):
        jwk = json.loads(RSAAlgorithm.to_jwk(public))
    elif alg.startswith("ES"):
        jwk = json.loads(ECAlgorithm.to_jwk(public))
    else:
        jwk = json.loads(OKPAlgorithm.to_jwk(public))
    jwk.update({"kid": kid, "alg": alg, "use": "sig"})
    return jwk


def main(argv):
    command = argv[1]
    if command == "jwks":
        key = load_key(argv[2])
        print(json.dumps({"keys": [public_jwk(key, argv[3], argv[4])]}))
    elif command == "token":
        key = load_key(argv[2])
        claims = json.loads(argv[5])
        headers = {"kid": argv[3]} if argv[3] else {}
        print(jwt.encode(claims, key, algorithm=argv[4], headers=headers))
    elif command == "thumbprint":
        with open(argv[2], "rb") as handle:
            certificate = x509.load_pem_x509_certificate(handle.read())
        der = certificate.public_bytes(serialization.Encoding.DER)
        digest = hashlib.sha256(der).digest()
        print(base64.urlsafe_b64encode(digest).decode().rstrip("="))
    else:
        raise SystemExit("unknown command " + command)


if __name__ == "__main__":
    main(sys.argv)
