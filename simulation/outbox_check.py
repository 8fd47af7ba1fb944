"""送达核对: reads an outbox as its recipients would and checks that every date a message states
agrees with the day it was delivered (its ``Date`` header, Asia/Shanghai), and that nobody is
flooded on one day.

* "截至2025年4月17日" (as of) is the delivery day;
* "于2025年8月24日前" (reply / resubmit by) is not before the delivery day ("应于…前", a past due
  date a reminder quotes, is a statement, not a request);
* "距截止还有N天" and "N天后截止" agree with the "截止时间为…" date seen from the delivery day;
* at most `max_per_day` messages to one address on one day, the staff digest aside.

`python -m simulation.outbox_check OUTBOX` prints the findings (exit code 1 when any).
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from simulation.world import Mailbox, Message

MAX_PER_DAY = 3
UNCOUNTED_EVENTS = ("staff_digest",)

_DATE = r"(\d{4})年(\d{1,2})月(\d{1,2})日"
AS_OF = re.compile("截至" + _DATE)
REPLY_BY = re.compile("(?<!应)于" + _DATE + r"(?:\s*\d{1,2}:\d{2})?前")
DEADLINE = re.compile("截止时间为" + _DATE)
DAYS_LEFT = re.compile(r"距截止还有(\d+)天")
DAYS_AFTER = re.compile(r"(\d+)天后截止")


@dataclass
class OutboxCheck:
    """What the check found: the messages read, the dated phrases checked, and the problems."""

    messages: int = 0
    phrases: int = 0
    problems: list[str] = field(default_factory=list)
    busiest: int = 0  # most messages one address got on one day (digest aside)
    per_day: Counter[tuple[str, dt.date]] = field(default_factory=Counter)

    def summary(self) -> str:
        return (
            f"核对 {self.messages} 封邮件、{self.phrases} 处日期表述：发现 {len(self.problems)} 处问题；"
            f"同一收件人单日最多 {self.busiest} 封（每日工作摘要除外）"
        )


def _date(match: re.Match[str], first: int = 1) -> dt.date:
    y, m, d = (int(match.group(i)) for i in range(first, first + 3))
    return dt.date(y, m, d)


def check_message(message: Message) -> tuple[int, list[str]]:
    """The dated phrases of one message checked against its delivery day: (phrases, problems)."""
    day = message.date.date()
    text = f"{message.subject}\n{message.text}"
    where = f"{message.path.name}（{message.event}，{day:%Y-%m-%d} 送达）"
    problems: list[str] = []
    phrases = 0
    for m in AS_OF.finditer(text):
        phrases += 1
        if _date(m) != day:
            problems.append(f"{where}：“{m.group(0)}”不是送达日")
    for m in REPLY_BY.finditer(text):
        phrases += 1
        if _date(m) < day:
            problems.append(f"{where}：“{m.group(0)}”早于送达日")
    deadline = DEADLINE.search(text)
    for pattern in (DAYS_LEFT, DAYS_AFTER):
        for m in pattern.finditer(text):
            phrases += 1
            if deadline is None:
                problems.append(f"{where}：“{m.group(0)}”没有可核对的截止时间")
            elif (_date(deadline) - day).days != int(m.group(1)):
                problems.append(
                    f"{where}：“{m.group(0)}”与截止时间{deadline.group(0)[5:]}不符"
                    f"（送达日距截止 {(_date(deadline) - day).days} 天）"
                )
    if deadline is not None and "截止提醒" in message.subject and day > _date(deadline):
        problems.append(f"{where}：截止提醒在截止日之后送达")
    return phrases, problems


def check_outbox(folder: Path, *, max_per_day: int = MAX_PER_DAY) -> OutboxCheck:
    """Every message of the outbox `folder` checked (see the module docstring)."""
    result = OutboxCheck()
    for message in Mailbox(folder).read():
        result.messages += 1
        phrases, problems = check_message(message)
        result.phrases += phrases
        result.problems += problems
        if message.event not in UNCOUNTED_EVENTS:
            result.per_day[(message.to or message.path.name, message.date.date())] += 1
    for (to, day), n in sorted(result.per_day.items()):
        if n > max_per_day:
            result.problems.append(f"{to} 在 {day:%Y-%m-%d} 收到 {n} 封（上限 {max_per_day}）")
    result.busiest = max(result.per_day.values(), default=0)
    return result


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("用法：python -m simulation.outbox_check 发件箱目录（如 out/2025/outbox）")
        return 2
    result = check_outbox(Path(argv[0]))
    for problem in result.problems:
        print(problem)
    print(result.summary())
    return 1 if result.problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
