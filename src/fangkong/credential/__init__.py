"""Health codes as credentials (健康码互认): signing, QR encoding, offline verification, trust
lists and revocation; the same verifier reads EU Digital COVID Certificates.

A health code is the EU DCC's envelope around fangkong's own payload:

    "FK1:" + Base45(zlib(COSE_Sign1[ES256, kid](CWT{iss, iat, exp, -65537: payload})))

Modules, outermost layer first: `qr` (images), `envelope` (prefix, zlib), `base45`, `cose`
(COSE_Sign1, signatures), `claims` (CWT), `healthcode` (fangkong's payload and the code facts it
is made from), `dcc` (the EU payload, schema, key usage), `certificate` (signer certificates,
read leniently), `keys` (the signer key store), `issue` and `bulk` (signing one code or a
frame), `trust` (trust lists, 互认), `revocation`, `verify` (the verifier), `conformance` (the
DCC test vectors). Refusals carry a typed `Refusal`.
"""

from fangkong.credential.bulk import FACT_COLUMNS, sign_codes
from fangkong.credential.envelope import Prefix
from fangkong.credential.healthcode import CodeFacts, CodePayload, pseudonym
from fangkong.credential.issue import issue_code
from fangkong.credential.keys import KeyStatus, KeyStore, Signer
from fangkong.credential.refusal import Refusal
from fangkong.credential.revocation import HashType, RevocationSet
from fangkong.credential.trust import (
    TrustStore,
    add_dcc_signer,
    import_trust_list,
    load_trust_store,
    publish_trust_list,
)
from fangkong.credential.verify import VerifiedCode, Verifier

__all__ = [
    "FACT_COLUMNS",
    "CodeFacts",
    "CodePayload",
    "HashType",
    "KeyStatus",
    "KeyStore",
    "Prefix",
    "Refusal",
    "RevocationSet",
    "Signer",
    "TrustStore",
    "VerifiedCode",
    "Verifier",
    "add_dcc_signer",
    "import_trust_list",
    "issue_code",
    "load_trust_store",
    "pseudonym",
    "publish_trust_list",
    "sign_codes",
]
