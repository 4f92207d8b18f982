"""The API key format: `qa_scim_<public id>_<random><checksum>`.

- public id: 8 base62 characters, stored, shown in the portal and the audit trail;
- random: 30 base62 characters from `secrets` (about 178 bits);
- checksum: CRC32 of everything before it, as 6 base62 characters, so a mistyped or
  truncated key is refused without a database query, and secret scanners can tell a real
  key from noise.
"""

import re
import secrets
import string
import zlib
from dataclasses import dataclass

ALPHABET = string.digits + string.ascii_letters
PREFIX = "qa_scim_"
PUBLIC_ID_LENGTH = 8
RANDOM_LENGTH = 30
CHECKSUM_LENGTH = 6
KEY_PATTERN = re.compile(
    rf"^{PREFIX}(?P<public_id>[0-9A-Za-z]{{{PUBLIC_ID_LENGTH}}})_"
    rf"(?P<random>[0-9A-Za-z]{{{RANDOM_LENGTH}}})(?P<checksum>[0-9A-Za-z]{{{CHECKSUM_LENGTH}}})$"
)


@dataclass(frozen=True)
class ParsedKey:
    public_id: str
    plaintext: str


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, remainder = divmod(number, 62)
        digits.append(ALPHABET[remainder])
    return "".join(reversed(digits))


def _random_base62(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode("ascii")), CHECKSUM_LENGTH)


def new_public_id() -> str:
    return _random_base62(PUBLIC_ID_LENGTH)


def build_key(public_id: str) -> str:
    body = f"{PREFIX}{public_id}_{_random_base62(RANDOM_LENGTH)}"
    return body + checksum(body)


def parse_key(raw: str) -> ParsedKey | None:
    """Return the parts of a well-formed key whose checksum matches, else None."""
    match = KEY_PATTERN.match(raw)
    if match is None:
        return None
    body = raw[:-CHECKSUM_LENGTH]
    if not secrets.compare_digest(checksum(body), match["checksum"]):
        return None
    return ParsedKey(public_id=match["public_id"], plaintext=raw)
