"""What a demo run left behind, in a form two runs can be compared by (运行结果指纹): the files of
the campaign folder (relative paths; Office files by the content of their parts, so that the zip
timestamps and the order of writing do not count), the messages of the outbox (how many, and how
many per recipient and event), and the rows per table (`qcamp db rows`, the product's door)."""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from simulation.world import Message, Qcamp

# Not the campaign's output: the demo's marker, the SQLite database and its lock files.
SKIPPED = re.compile(
    r"^(\.qcamp-demo|demo\.sqlite.*|.*\.tmp|故障注入记录\.jsonl|fingerprint\.json)$"
)
# The mail the participants sent (the Maildir) and the attachments taken from it: inputs, whose
# zips carry the wall-clock time they were packed; what the product made of them is compared
# through its rows and its own documents.
INBOUND_MAIL = ("mailbox", "mail")
OFFICE = (".xlsx", ".docx")
# Parts that record when and by whom a file was written, not what it says.
VOLATILE_PARTS = ("docProps/core.xml", "docProps/app.xml")


@dataclass
class Fingerprint:
    files: dict[str, str] = field(default_factory=dict)  # relative path -> content hash
    messages: dict[str, int] = field(default_factory=dict)  # "recipient event" -> count
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows

    @property
    def message_count(self) -> int:
        return sum(self.messages.values())

    def to_json(self) -> str:
        return json.dumps(self.__dict__, ensure_ascii=False, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Fingerprint:
        return cls(**json.loads(text))


def content_hash(path: Path) -> str:
    """A file's hash; for .xlsx/.docx the hash of its parts' names and bytes, sorted by name,
    without the parts that only say when it was written."""
    digest = hashlib.sha256()
    if path.suffix.lower() in OFFICE and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as package:
            for name in sorted(package.namelist()):
                if name in VOLATILE_PARTS:
                    continue
                digest.update(name.encode() + b"\0" + package.read(name) + b"\0")
    else:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


MAILDIR_UNIQUE = re.compile(r"-?\d{9,11}\.M\d+P\d+Q\d+\.[^/:]+(?::2,[A-Za-z]*)?")


def fingerprint(out_dir: Path, qcamp: Qcamp | None = None) -> Fingerprint:
    """The fingerprint of the demo folder `out_dir` and the database the environment names."""
    result = Fingerprint()
    for path in sorted(out_dir.rglob("*")):
        rel = path.relative_to(out_dir)
        if not path.is_file() or SKIPPED.match(path.name):
            continue
        if rel.parts[0] in INBOUND_MAIL:
            continue
        if rel.parts[0] == "outbox" and path.suffix == ".eml":
            message = Message(path)
            key = f"{message.to} {message.event}"
            result.messages[key] = result.messages.get(key, 0) + 1
            continue
        digest = content_hash(path)
        # Maildir names a mail by the time, process and counter of its delivery: the same mail
        # gets another name in another run; keyed by its arrival time, or its content.
        key = MAILDIR_UNIQUE.sub("", rel.as_posix())
        result.files[key + digest if key.endswith("/") else key] = digest
    result.rows = json.loads((qcamp or Qcamp())("db", "rows"))
    return result


def differences(clean: Fingerprint, other: Fingerprint, limit: int = 20) -> list[str]:
    """What differs, one Chinese line each (at most `limit`, then how many more)."""
    lines: list[str] = []
    for path in sorted(set(clean.files) | set(other.files)):
        a, b = clean.files.get(path), other.files.get(path)
        if a == b:
            continue
        if a is None:
            lines.append(f"多出文件：{path}")
        elif b is None:
            lines.append(f"缺少文件：{path}")
        else:
            lines.append(f"文件内容不同：{path}")
    if clean.message_count != other.message_count:
        lines.append(
            f"消息总数不同：无故障运行{clean.message_count}条，本次{other.message_count}条"
        )
    counts_a, counts_b = Counter(clean.messages), Counter(other.messages)
    for key in sorted(set(counts_a) | set(counts_b)):
        if counts_a[key] != counts_b[key]:
            who, _, event = key.partition(" ")
            lines.append(
                f"消息数不同：{who or '（无收件人）'} 的 {event}：无故障运行{counts_a[key]}条，"
                f"本次{counts_b[key]}条"
            )
    for table in sorted(set(clean.rows) | set(other.rows)):
        a_rows, b_rows = clean.rows.get(table, 0), other.rows.get(table, 0)
        if a_rows != b_rows:
            lines.append(f"数据表 {table} 行数不同：无故障运行{a_rows}行，本次{b_rows}行")
    if len(lines) > limit:
        lines = lines[:limit] + [f"……另有{len(lines) - limit}处不同"]
    return lines
