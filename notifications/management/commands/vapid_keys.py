"""Make a VAPID key pair for web push: `manage.py vapid_keys`, then put the two lines in the environment."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.management.base import BaseCommand


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Command(BaseCommand):
    help = (
        "Make a VAPID key pair (P-256) for web push and print VAPID_PRIVATE_KEY and VAPID_PUBLIC_KEY "
        "as environment lines. Make one pair per site, once: a new pair ends every browser's subscription."
    )

    def handle(self, *args, **options) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        private = key.private_numbers().private_value.to_bytes(32, "big")
        public = key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        self.stdout.write(f"VAPID_PRIVATE_KEY={_b64url(private)}")
        self.stdout.write(f"VAPID_PUBLIC_KEY={_b64url(public)}")
        self.stderr.write(
            "Keep VAPID_PRIVATE_KEY secret, like SECRET_KEY. Set VAPID_SUBJECT to a mailto: address push "
            "services can reach you at. Changing the keys later means every resident turns notifications on again."
        )
