"""Message templates: one per event, Chinese text, the campaign's facts filled in from a context.

Placeholders are ``str.format`` fields over the context dict. Values are formatted for Chinese
readers: a datetime becomes ``2025年4月20日 23:59`` (Asia/Shanghai), a date ``2025年4月20日``;
``{x:date}``, ``{x:md}`` (``4月20日``) and ``{x:time}`` (``09:00``) pick a part; a list becomes
numbered lines (``1. …``), an empty list ``无``. A missing key raises `TemplateError` naming the
template and the key. Every message ends with the commission's sign-off and contact line
(``phone`` and ``email`` are required context; ``contact``, ``issuer``, ``department`` optional).

`config_facts(config)` builds the common keys from the campaign's config.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from domain.workdays import SHANGHAI

if TYPE_CHECKING:
    from domain.calendar import CampaignConfig

ISSUER = "天津市市场监督管理委员会"
DEPARTMENT = "质量发展处"


class TemplateError(KeyError):
    """A template cannot be rendered: unknown event, or a context key is missing."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class MessageTemplate:
    event: str
    name: str  # Chinese name of the event
    subject: str
    body: str
    rule: str  # the rule that sends it; a period suffix (":T-7", ":2025-06") is added by callers
    attachments: str = ""  # what the caller attaches, if anything


@dataclass(frozen=True)
class RenderedMessage:
    event: str
    subject: str
    body: str


def _fmt_datetime(value: dt.datetime, spec: str) -> str:
    local = value.astimezone(SHANGHAI) if value.tzinfo else value
    if spec == "date":
        return f"{local.year}年{local.month}月{local.day}日"
    if spec == "md":
        return f"{local.month}月{local.day}日"
    if spec == "time":
        return f"{local:%H:%M}"
    if spec:
        return format(local, spec)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def _fmt_date(value: dt.date, spec: str) -> str:
    if spec == "md":
        return f"{value.month}月{value.day}日"
    if spec in ("", "date", "datetime"):
        return f"{value.year}年{value.month}月{value.day}日"
    return format(value, spec)


class _ChineseFormatter(string.Formatter):
    def __init__(self, template: str) -> None:
        self.template = template

    def get_value(self, key: int | str, args: Any, kwargs: Mapping[str, Any]) -> Any:
        if isinstance(key, int):
            raise TemplateError(
                f"模板 {self.template} 使用了位置占位符 {{{key}}}：请使用命名占位符"
            )
        if key not in kwargs:
            raise TemplateError(f"模板 {self.template} 缺少上下文字段 {key!r}")
        return kwargs[key]

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, dt.datetime):
            return _fmt_datetime(value, format_spec)
        if isinstance(value, dt.date):
            return _fmt_date(value, format_spec)
        if isinstance(value, list | tuple):
            if not value:
                return "无"
            return "\n".join(
                f"{i}. {self.format_field(v, format_spec)}" for i, v in enumerate(value, 1)
            )
        return super().format_field(value, format_spec)


_T = MessageTemplate

TEMPLATES: dict[str, MessageTemplate] = {
    t.event: t
    for t in [
        _T(
            event="call",
            name="征集通知",
            rule="rule:call",
            attachments="申报书、立项申报汇总表空白模板",
            subject="关于开展{campaign_title}活动的通知",
            body=(
                "{recipient_name}：\n"
                "为深入推进质量强市建设，现组织开展{campaign_title}活动。请贵单位组织推荐本行业、"
                "本辖区符合条件的单位申报质量攻关项目。有关事项通知如下：\n"
                "一、申报单位填写《质量攻关项目申报书》，经推荐单位审核把关、签署推荐意见后，"
                "连同《立项申报汇总表》（盖章版和可编辑版）一并报送。\n"
                "二、报送截止时间：{application_deadline:date}前，逾期不予受理。\n"
                "三、项目名称请按命名指南拟定；申报材料须真实准确，不得与历年优秀成果项目雷同。\n"
                "四、围绕重点产业链开展、由链主企业牵头联合申报的项目优先推荐。\n"
                "附件：申报书及立项申报汇总表空白模板。"
            ),
        ),
        _T(
            event="application_reminder",
            name="申报截止提醒",
            rule="rule:application_reminder",
            subject="申报截止提醒：{campaign_title}项目申报{left}截止",
            body=(
                "{recipient_name}：\n"
                "{campaign_title}项目申报截止时间为{application_deadline}，{countdown}。"
                "{owing}\n"
                "请尽快组织申报单位完成申报书填写（退回的项目按审核意见修改），经审核并签署推荐"
                "意见后，连同立项申报汇总表一并报送。逾期报送的材料不予受理。"
                "如贵单位本年度无推荐项目，请回复告知。"
            ),
        ),
        _T(
            event="receipt",
            name="受理回执",
            rule="rule:receipt",
            subject="受理回执：{campaign_title}申报材料（第{version}批次）",
            body=(
                "{recipient_name}：\n"
                "贵单位于{received_at}报送的申报材料已收到。\n"
                "报送批次：第{version}批次\n"
                "受理项目数：{project_count}项\n"
                "受理项目清单：\n{projects}\n"
                "{returned_section}"
                "我处将组织立项审核，审核结果另行通知。审核意见表见附件。"
            ),
        ),
        _T(
            event="returned",
            name="退回修改",
            rule="rule:returned",
            attachments="审核意见表",
            subject="退回修改通知：{campaign_title}申报材料（第{version}批次）",
            body=(
                "{recipient_name}：\n"
                "贵单位于{received_at}报送的申报材料（第{version}批次）已收到，经审查，"
                "以下{returned_count}个项目存在问题，现退回修改：\n{returned}\n"
                "{resubmit}。审核意见表见附件。"
            ),
        ),
        _T(
            event="late_batch",
            name="逾期未受理",
            rule="rule:late_batch",
            subject="逾期未受理通知：{campaign_title}申报材料",
            body=(
                "{recipient_name}：\n"
                "{campaign_title}项目申报截止时间为{application_deadline}。贵单位报送的申报材料"
                "于{received_at}送达，已超过截止时间，按活动通知要求不予受理。\n"
                "如有疑问，请与我处联系。"
            ),
        ),
        _T(
            event="batch_refused",
            name="批次未受理",
            rule="rule:batch_refused",
            subject="申报材料未受理通知：{campaign_title}（第{version}批次）",
            body=(
                "{recipient_name}：\n"
                "贵单位于{received_at}报送的申报材料（第{version}批次）不予受理，原因如下：\n"
                "{reasons}\n"
                "请按上述要求修改后，于{resubmit_by}前重新报送。"
            ),
        ),
        _T(
            event="approval",
            name="立项结果",
            rule="rule:approval",
            subject="立项结果通知：{campaign_title}",
            body=(
                "{recipient_name}：\n"
                "经立项审核，{campaign_title}项目计划已确定，于{plan_published:date}在市市场监管委"
                "网站公布。贵单位相关项目的立项结果如下：\n{results}\n"
                "请立项项目单位按计划组织实施，按照PDCA循环（计划、执行、检查、处理）开展攻关，"
                "定期监测进度并留存过程记录。项目负责人、质量负责人及技术骨干须参加宣贯培训，"
                "培训安排另行通知。"
            ),
        ),
        _T(
            event="training_invitation",
            name="培训邀请",
            rule="rule:training_invitation",
            attachments="培训日程 .ics 文件",
            subject="培训邀请：{campaign_title}宣贯培训（{session_key}场）",
            body=(
                "{recipient_name}：\n"
                "您作为项目“{project_title}”的{role}，被安排参加{campaign_title}宣贯培训：\n"
                "场次：{session_key}\n"
                "时间：{starts_at} 至 {ends_at:time}\n"
                "地点：{place}\n"
                "请准时参加。附件为日程文件（.ics），可直接导入日历。"
                "如确有特殊情况无法参加，请提前与我处联系调整场次。"
            ),
        ),
        _T(
            event="checkin_request",
            name="进度报告请求",
            rule="rule:checkin_request",
            subject="进度报告请求：{project_title}（{period}）",
            body=(
                "{recipient_name}：\n"
                "请报送项目“{project_title}”{period}的进度报告，内容包括：当前所处PDCA阶段"
                "（计划/执行/检查/处理）、完成百分比、主要指标当前值、存在的问题及下一步措施。\n"
                "报送截止时间：{due_at}。"
            ),
        ),
        _T(
            event="checkin_overdue",
            name="进度报告逾期提醒",
            rule="rule:checkin_overdue",
            subject="进度报告逾期提醒：{project_title}（{period}）",
            body=(
                "{recipient_name}：\n"
                "项目“{project_title}”{period}的进度报告应于{due_at}前报送，截至{as_of:date}仍未"
                "收到，已逾期{days_overdue}天。请尽快报送。连续未报送进度的项目将提请推荐单位督办。"
            ),
        ),
        _T(
            event="escalation",
            name="逾期督办",
            rule="rule:escalation",
            subject="逾期督办：贵单位推荐的{count}个项目未按期报送进度",
            body=(
                "{recipient_name}：\n"
                "截至{as_of:date}，贵单位推荐的以下项目已连续{periods}期未报送进度报告：\n"
                "{projects}\n"
                "请贵单位按照跟踪服务要求，对上述项目开展督促检查，了解实施中存在的问题，"
                "帮助项目单位推进攻关，并于{reply_by:date}前反馈督办情况。"
            ),
        ),
        _T(
            event="results_reminder",
            name="成果提交截止提醒",
            rule="rule:results_reminder",
            subject="成果提交截止提醒：{campaign_title}成果材料{left}截止",
            body=(
                "{recipient_name}：\n"
                "{campaign_title}成果材料报送截止时间为{results_deadline}，{countdown}。"
                "截至{as_of:date}，贵单位推荐的以下项目尚未报送成果材料：\n{projects}\n"
                "请督促项目单位尽快提交成果材料和过程材料，经贵单位审核后统一报送。"
                "逾期材料不再接收。"
            ),
        ),
        _T(
            event="results_receipt",
            name="成果材料受理回执",
            rule="rule:results_receipt",
            subject="成果材料受理回执：{project_title}",
            body=(
                "{recipient_name}：\n"
                "项目“{project_title}”的成果材料已于{received_at}收到并受理。\n"
                "材料核对：尚缺以下材料（如有，请于截止时间前补齐）：\n{missing_parts}\n"
                "成果评定安排另行通知。"
            ),
        ),
        _T(
            event="results_late",
            name="逾期不再接收",
            rule="rule:results_late",
            subject="逾期不再接收：{project_title}成果材料",
            body=(
                "{recipient_name}：\n"
                "{campaign_title}成果材料报送截止时间为{results_deadline}。项目“{project_title}”"
                "的成果材料于{received_at}送达，已超过截止时间。按照活动通知“逾期不再接收”的"
                "要求，该成果材料不予接收，不参加本年度成果评定。"
            ),
        ),
        _T(
            event="panel_invitation",
            name="评审邀请",
            rule="rule:panel_invitation",
            subject="评审邀请：{campaign_title}成果评定（{panel_name}）",
            body=(
                "{recipient_name}专家：\n"
                "您好！经从专家库随机抽取，诚邀您担任{campaign_title}成果评定“{panel_name}”"
                "评定组成员。\n"
                "评定时间：{review_at}\n"
                "评定地点：{place}\n"
                "评审成果数：{project_count}项\n"
                "评分截止：{scores_due}\n"
                "请严格遵守评审纪律。如与所评项目存在利害关系（本单位或推荐单位的项目、参与过"
                "该项目、近亲属关系等），请主动申请回避。请于{reply_by:date}前回复是否参加。"
            ),
        ),
        _T(
            event="public_notice",
            name="公示通知",
            rule="rule:public_notice",
            subject="公示通知：{campaign_title}优秀成果名单公示",
            body=(
                "{recipient_name}：\n"
                "{campaign_title}优秀成果拟认定名单于{starts_on:date}起在市市场监管委网站公示，"
                "公示期为{starts_on:date}至{ends_on:date}（{working_days}个工作日）。"
                "贵单位相关项目：\n{projects}\n"
                "公示期间如有异议，请以书面形式向我处反映，并提供必要的证明材料。"
            ),
        ),
        _T(
            event="publication",
            name="公布通知",
            rule="rule:publication",
            attachments="公布通知、贵单位所推荐项目的荣誉证书",
            subject="公布通知：{campaign_title}优秀成果名单",
            body=(
                "{recipient_name}：\n"
                "{campaign_title}优秀成果名单公示期满，已于{published_on:date}正式公布。"
                "贵单位相关项目：\n{projects}\n"
                "对优秀成果单位、参与人员和组织单位予以通报表扬。贵单位所推荐项目的荣誉证书"
                "（电子版）见附件，请转交有关单位和人员；纸质证书另行发放。"
            ),
        ),
        _T(
            event="certificate",
            name="证书发放",
            rule="rule:certificate",
            attachments="电子证书",
            subject="证书发放：{campaign_title}优秀成果证书（{serial}）",
            body=(
                "{recipient_name}：\n"
                "{holder}参与的项目“{project_title}”被评为{campaign_title}优秀成果，"
                "证书编号：{serial}。电子证书见附件。\n"
                "纸质证书领取方式：{pickup}"
            ),
        ),
        _T(
            event="exchange_invitation",
            name="交流会邀请",
            rule="rule:exchange_invitation",
            subject="交流会邀请：{campaign_title}优秀成果交流会",
            body=(
                "{recipient_name}：\n"
                "兹定于{meeting_at}在{place}召开{campaign_title}优秀成果交流会，交流推广优秀成果"
                "的经验做法。会议议程：\n{agenda}\n"
                "诚邀贵单位派员参加，请于{reply_by:date}前回复参会人员名单。"
            ),
        ),
        _T(
            event="staff_digest",
            name="每日工作摘要",
            rule="rule:staff_digest",
            subject="每日工作摘要（{day:date}）：{campaign_title}",
            body=(
                "{recipient_name}：\n"
                "截至{as_of}，{campaign_title}工作情况如下：\n{counts}\n"
                "发送失败的通知（{failed_count}条）：\n{failures}\n"
                "发送失败的通知请核实收件人渠道后，运行 qcamp messages resend --failed --year {year} "
                "重新发送（qcamp messages list --status failed 查看，qcamp messages show 编号 查看详情）。"
            ),
        ),
        _T(
            event="mail_receipt",
            name="来信回执",
            rule="rule:mail_receipt",
            subject="回执：已收到并导入您的来信（{mail_subject}）",
            body=(
                "{recipient_name}：\n"
                "您于{mail_received_at}发来的邮件“{mail_subject}”已收到，按{kind_label}导入：\n"
                "{outcome_text}。\n"
                "本回执由系统自动发送，无需回复。"
            ),
        ),
        _T(
            event="mail_returned",
            name="来信退回",
            rule="rule:mail_returned",
            subject="退回：您的来信未能导入（{mail_subject}）",
            body=(
                "{recipient_name}：\n"
                "您于{mail_received_at}发来的邮件“{mail_subject}”按{kind_label}处理，但未能导入，"
                "系统未保存其中任何内容：\n{outcome_text}\n"
                "请按上述说明修改后重新发送。"
            ),
        ),
        _T(
            event="mail_quarantined",
            name="来信未予处理",
            rule="rule:mail_quarantined",
            subject="未予处理：您的来信（{mail_subject}）",
            body=(
                "{recipient_name}：\n"
                "您于{mail_received_at}发来的邮件“{mail_subject}”未予处理，原因：\n{outcome_text}。\n"
                "附件已单独保存，工作人员会核查。如属误会，请使用登记的邮箱重新发送，或来电联系。"
            ),
        ),
        _T(
            event="mail_staff",
            name="来信需人工处理",
            rule="rule:mail_staff",
            subject="来信需人工处理：{mail_sender}（{mail_subject}）",
            body=(
                "{recipient_name}：\n"
                "收件邮箱中{mail_sender}于{mail_received_at}发来的邮件“{mail_subject}”未能自动处理：\n"
                "{outcome_text}\n"
                "请核查后处理（qcamp inbox list --year {year} 查看全部来信）。"
            ),
        ),
        _T(
            event="stage_failed",
            name="运行失败通知",
            rule="rule:stage_failed",
            subject="运行失败：{campaign_title}{stage_label}（{run_name}）",
            body=(
                "{recipient_name}：\n"
                "{campaign_title}的“{stage_label}”运行失败（运行名称：{run_name}）。\n"
                "{explanation}\n"
                "运行页面：{run_link}\n"
                "失败前已完成的工作见运行页面的 Artifacts 标签；错误详情见 Logs 标签（DEBUG 级别）。"
            ),
        ),
    ]
}

EVENTS: tuple[str, ...] = tuple(TEMPLATES)


def template(event: str) -> MessageTemplate:
    try:
        return TEMPLATES[event]
    except KeyError:
        raise TemplateError(
            f"没有事件 {event!r} 的通知模板；可用事件：{', '.join(EVENTS)}"
        ) from None


def rule_id(event: str, period: str = "") -> str:
    """The rule that sends `event`, e.g. ``rule:application_reminder:T-7``."""
    base = template(event).rule
    return f"{base}:{period}" if period else base


def _signoff(event: str, context: Mapping[str, Any]) -> str:
    for key in ("phone", "email"):
        if key not in context:
            raise TemplateError(f"模板 {event} 缺少上下文字段 {key!r}（落款联系方式）")
    issuer = context.get("issuer") or ISSUER
    department = context.get("department") or DEPARTMENT
    contact = context.get("contact") or ""
    parts = [f"联系人：{contact}"] if contact else []
    parts += [f"电话：{context['phone']}", f"邮箱：{context['email']}"]
    return f"\n\n{issuer} {department}\n" + "　".join(parts)


def _derived(context: Mapping[str, Any]) -> Mapping[str, Any]:
    """A deadline reminder's phrases from its ``days`` when the caller gave only the number:
    ``left`` (``3天后``/``今天``), ``countdown`` and ``owing`` (nothing received)."""
    if "days" not in context or "left" in context:
        return context
    days = int(context["days"])
    as_of = context.get("as_of")
    on = f"截至{_fmt_datetime(as_of, 'date')}，" if isinstance(as_of, dt.datetime) else ""
    return {
        "left": "今天" if days <= 0 else ("明天" if days == 1 else f"{days}天后"),
        "countdown": f"距截止还有{days}天" if days > 0 else "今天截止",
        "owing": f"{on}我处尚未收到贵单位报送的申报材料。",
        **context,
    }


def render(event: str, context: Mapping[str, Any]) -> RenderedMessage:
    """Subject and body of `event` with `context` filled in."""
    tpl = template(event)
    context = _derived(context)
    formatter = _ChineseFormatter(event)
    try:
        subject = formatter.vformat(tpl.subject, (), context)
        body = formatter.vformat(tpl.body, (), context)
    except (ValueError, IndexError, AttributeError) as exc:
        raise TemplateError(f"模板 {event} 无法填充：{exc}") from exc
    subject = " ".join(subject.split())  # a subject is one line
    return RenderedMessage(event=event, subject=subject, body=body + _signoff(event, context))


def config_facts(config: CampaignConfig) -> dict[str, Any]:
    """The keys every template can use, from the campaign's config."""
    cal = config.calendar
    return {
        "campaign_title": config.title,
        "year": config.year,
        "issuer": config.issuer,
        "department": config.department,
        "contact": config.contact,
        "phone": config.phone,
        "email": config.email,
        "application_deadline": cal.application_deadline,
        "plan_published": cal.plan_published,
        "results_deadline": cal.results_deadline,
        "scores_due": cal.scores_due,
        "exchange_meeting": cal.exchange_meeting,
    }


def encode_context(context: Mapping[str, Any]) -> dict[str, Any]:
    """A template context as JSON (stored with the message, so that it can be rendered again
    on its delivery day): dates and datetimes are tagged, anything else not JSON is text."""
    return {str(k): _encode(v) for k, v in context.items()}


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def decode_context(stored: Mapping[str, Any]) -> dict[str, Any]:
    """The inverse of `encode_context`."""
    return {k: _decode(v) for k, v in stored.items()}


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$datetime"}:
            return dt.datetime.fromisoformat(value["$datetime"])
        if set(value) == {"$date"}:
            return dt.date.fromisoformat(value["$date"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value
