"""Two regions (Shanghai 310000, Jiangsu 320000) with real key stores, and a verifier in
Jiangsu that has imported Shanghai's trust list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fangkong.credential.healthcode import CodeFacts
from fangkong.credential.issue import issue_code
from fangkong.credential.keys import KeyStore
from fangkong.credential.revocation import load_revocations
from fangkong.credential.trust import import_trust_list, load_trust_store, publish_trust_list
from fangkong.credential.verify import Verifier
from fangkong.model.glossary import CodeColour
from fangkong.policy.terms import CodeReason

NOW = datetime(2022, 7, 1, 8, 0, tzinfo=UTC)
T0 = int(NOW.timestamp())
FACTS = CodeFacts("0f" * 16, CodeColour.YELLOW, (CodeReason.FEVER_CLINIC_VISIT,), "cn-2022-06-28")


@dataclass
class Regions:
    shanghai: KeyStore
    jiangsu: KeyStore
    verifier_dir: Path  # Jiangsu's trust folder

    def code(self, store: KeyStore | None = None, *, facts: CodeFacts = FACTS) -> str:
        issuer = store or self.shanghai
        return issue_code(
            facts, signer=issuer.active(), region=issuer.region, issued_at=T0, validity_hours=24
        )

    def verifier(self) -> Verifier:
        return Verifier(load_trust_store(self.verifier_dir), load_revocations(self.verifier_dir))

    def republish(self) -> None:
        data = publish_trust_list(self.shanghai, now=datetime.now(UTC))
        import_trust_list(self.verifier_dir, data)


@pytest.fixture
def regions(tmp_path: Path) -> Regions:
    shanghai = KeyStore.create(tmp_path / "sh", "310000", now=NOW, valid_days=365)
    jiangsu = KeyStore.create(tmp_path / "js", "320000", now=NOW, valid_days=365)
    verifier_dir = jiangsu.directory
    for store in (shanghai, jiangsu):
        import_trust_list(
            verifier_dir,
            publish_trust_list(store, now=NOW),
            anchor=store.anchor().certificate_der,
        )
    return Regions(shanghai, jiangsu, verifier_dir)
