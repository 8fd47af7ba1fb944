"""Real local servers for the notification tests: SMTP (aiosmtpd) and an HTTP webhook receiver."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import json
import socket
import threading
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- SMTP ------------------------------------------------------------------------------------------
class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.sink.delay:
            await asyncio.sleep(self.sink.delay)
        with self.sink.lock:
            self.sink.envelopes.append(
                (envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content))
            )
        return "250 Message accepted for delivery"


class SmtpSink:
    """A real SMTP server on 127.0.0.1:<free port>; can be stopped and started again."""

    def __init__(self, *, user: str | None = None, password: str | None = None) -> None:
        self.port = free_port()
        self.envelopes: list[tuple[str, list[str], bytes]] = []
        self.lock = threading.Lock()
        self.delay = 0.0
        self.user, self.password = user, password
        self.connections = 0
        self._controller: Controller | None = None

    def _auth(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == self.user
            and data.password.decode() == self.password
        )
        return AuthResult(success=ok, handled=False)

    def start(self) -> None:
        kwargs: dict[str, Any] = {}
        if self.user:
            kwargs = {"authenticator": self._auth, "auth_require_tls": False, "auth_required": True}
        self._controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port, ready_timeout=10, **kwargs
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def url(self, to: str, **params: str) -> str:
        query = "&".join(
            [f"to={to}", "from=qcamp@example.com", "mode=insecure"]
            + [f"{k}={v}" for k, v in params.items()]
        )
        return f"mailto://127.0.0.1:{self.port}?{query}"

    @property
    def messages(self) -> list[EmailMessage]:
        with self.lock:
            raw = [e[2] for e in self.envelopes]
        return [
            email.message_from_bytes(r, policy=email.policy.default)  # type: ignore[misc]
            for r in raw
        ]

    def count_by_rcpt(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        with self.lock:
            for _f, rcpts, _raw in self.envelopes:
                for r in rcpts:
                    counts[r] = counts.get(r, 0) + 1
        return counts


# -- webhook ---------------------------------------------------------------------------------------
class WebhookSink:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        sink = self

        class _H(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                sink.requests.append({"path": self.path, "json": json.loads(body.decode("utf-8"))})
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"OK")

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _H)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookSink:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


SH = dt.timezone(dt.timedelta(hours=8))

EXPECTED_EVENTS = {
    "call",
    "application_reminder",
    "receipt",
    "returned",
    "late_batch",
    "batch_refused",
    "approval",
    "training_invitation",
    "checkin_request",
    "checkin_overdue",
    "escalation",
    "results_reminder",
    "results_receipt",
    "results_late",
    "panel_invitation",
    "public_notice",
    "publication",
    "certificate",
    "exchange_invitation",
    "staff_digest",
    "mail_receipt",
    "mail_returned",
    "mail_quarantined",
    "mail_staff",
    "stage_failed",
}

EVENT_CONTEXT: dict[str, dict[str, Any]] = {
    "stage_failed": {
        "stage_label": "宣贯培训",
        "run_name": "2025-宣贯培训-2025-05-26",
        "explanation": "失败原因：没有权限读写文件 /data/out/2025/培训名单.xlsx。处理办法：……",
        "run_link": "http://127.0.0.1:4200/runs/flow-run/1",
    },
    "call": {},
    "application_reminder": {"days": 7, "as_of": dt.datetime(2025, 4, 13, 9, tzinfo=SH)},
    "receipt": {
        "received_at": dt.datetime(2025, 4, 18, 15, 30, tzinfo=SH),
        "version": 1,
        "project_count": 2,
        "projects": ["降低焊缝气孔不良率", "提高一次交检合格率"],
        "returned_section": "",
    },
    "returned": {
        "received_at": dt.datetime(2025, 4, 18, 15, 30, tzinfo=SH),
        "version": 1,
        "returned_count": 1,
        "resubmit": "请按意见修改后于2025年4月20日 23:59前重新报送，逾期未报送的视为放弃申报",
        "returned": ["“降低焊缝气孔不良率”：统一社会信用代码校验位错误", "攻关目标缺少可量化指标"],
        "resubmit_by": dt.datetime(2025, 4, 20, 23, 59, tzinfo=SH),
    },
    "late_batch": {"received_at": dt.datetime(2025, 4, 21, 10, tzinfo=SH)},
    "batch_refused": {
        "version": 2,
        "received_at": dt.datetime(2025, 4, 18, 10, tzinfo=SH),
        "reasons": ["本批次没有一份可以读取的申报书（.docx），整批不予受理。"],
        "resubmit_by": dt.datetime(2025, 4, 20, 23, 59, tzinfo=SH),
    },
    "approval": {"results": ["降低焊缝气孔不良率：立项（编号 2025-ZL-001）"]},
    "training_invitation": {
        "project_title": "降低焊缝气孔不良率",
        "role": "项目负责人",
        "session_key": "S1",
        "starts_at": dt.datetime(2025, 6, 10, 9, tzinfo=SH),
        "ends_at": dt.datetime(2025, 6, 10, 17, tzinfo=SH),
        "place": "天津市市场监管委培训中心一号报告厅",
    },
    "checkin_request": {
        "project_title": "降低焊缝气孔不良率",
        "period": "2025-06",
        "due_at": dt.datetime(2025, 6, 10, 18, tzinfo=SH),
    },
    "checkin_overdue": {
        "project_title": "降低焊缝气孔不良率",
        "period": "2025-06",
        "due_at": dt.datetime(2025, 6, 10, 18, tzinfo=SH),
        "as_of": dt.datetime(2025, 6, 13, 9, tzinfo=SH),
        "days_overdue": 3,
    },
    "escalation": {
        "count": 2,
        "periods": 2,
        "projects": ["项目甲", "项目乙"],
        "as_of": dt.datetime(2025, 8, 1, 9, tzinfo=SH),
        "reply_by": dt.date(2025, 8, 8),
    },
    "results_reminder": {
        "days": 3,
        "as_of": dt.datetime(2025, 9, 27, 9, tzinfo=SH),
        "projects": ["项目甲"],
    },
    "results_receipt": {
        "project_title": "降低焊缝气孔不良率",
        "received_at": dt.datetime(2025, 9, 20, 9, tzinfo=SH),
        "missing_parts": [],
    },
    "results_late": {
        "project_title": "降低焊缝气孔不良率",
        "received_at": dt.datetime(2025, 10, 9, 9, tzinfo=SH),
    },
    "panel_invitation": {
        "panel_name": "高端装备产业链",
        "review_at": dt.datetime(2025, 10, 16, 9, tzinfo=SH),
        "place": "市市场监管委 三楼会议室",
        "project_count": 24,
        "reply_by": dt.date(2025, 10, 14),
    },
    "public_notice": {
        "starts_on": dt.date(2025, 11, 3),
        "ends_on": dt.date(2025, 11, 7),
        "working_days": 5,
        "projects": ["项目甲"],
    },
    "publication": {"published_on": dt.date(2025, 11, 10), "projects": ["项目甲"]},
    "certificate": {
        "holder": "天津某某焊接有限公司",
        "project_title": "降低焊缝气孔不良率",
        "serial": "TJZLGG-2025-0001",
        "pickup": "请于12月10日交流会现场领取",
    },
    "exchange_invitation": {
        "meeting_at": dt.datetime(2025, 12, 10, 14, tzinfo=SH),
        "place": "天津市市场监管委培训中心",
        "agenda": ["优秀成果发布", "典型经验交流"],
        "reply_by": dt.date(2025, 12, 3),
    },
    "staff_digest": {
        "day": dt.date(2025, 10, 9),
        "as_of": dt.datetime(2025, 10, 9, 9, tzinfo=SH),
        "counts": ["申报项目：1160", "已受理：1100"],
        "failed_count": 1,
        "failures": ["某单位：连接被拒绝"],
    },
    "mail_receipt": {
        "mail_subject": "报送进度报告（2份）",
        "mail_received_at": dt.datetime(2025, 7, 2, 10, 3, tzinfo=SH),
        "mail_sender": "hj@example.cn",
        "outcome_text": "进度报告已导入：按时 2 份，逾期 0 份",
        "kind_label": "进度报告",
    },
    "mail_returned": {
        "mail_subject": "报送进度报告",
        "mail_received_at": dt.datetime(2025, 7, 2, 10, 3, tzinfo=SH),
        "mail_sender": "hj@example.cn",
        "outcome_text": "进度报告_TJZLGG-2025-0001.xlsx B9（完成进度）“很多”无效",
        "kind_label": "进度报告",
    },
    "mail_quarantined": {
        "mail_subject": "申报材料",
        "mail_received_at": dt.datetime(2025, 4, 15, 10, 3, tzinfo=SH),
        "mail_sender": "stranger@example.org",
        "outcome_text": "发件地址未登记为推荐单位、项目联系人或评审专家的邮箱，来信未予处理",
    },
    "mail_staff": {
        "mail_subject": "申报材料",
        "mail_received_at": dt.datetime(2025, 4, 15, 10, 3, tzinfo=SH),
        "mail_sender": "stranger@example.org",
        "outcome_text": "已隔离：发件地址未登记",
    },
}
